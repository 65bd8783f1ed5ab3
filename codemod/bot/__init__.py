"""The bot: `unleak pr` turns a fix run into a branch, one commit per transform, and a pull request.

git.py runs real `git` (worktree, commits, push) with the token in the environment only;
changes.py runs the fix pipeline one transform at a time; proof.py runs gofmt and go vet;
body.py writes commit messages and the pull request body; forge.py, github.py and gitea.py
talk to the forges' REST APIs; flow.py ties them together and command.py is the CLI.
"""
