"""Heitje's runtime library: node, deploy, contract client, transactions, ledger, audit.

Everything that touches the chain at run time goes through here (web3.py and eth-account
only); brownie is used to compile, test and script, never imported at run time.
"""

__version__ = "0.1.0"
