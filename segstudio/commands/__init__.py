"""One module per ``segstudio`` subcommand (see ``segstudio.cli``)."""
