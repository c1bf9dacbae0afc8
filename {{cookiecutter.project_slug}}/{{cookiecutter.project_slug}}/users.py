"""``{{ cookiecutter.project_slug }}-users INI COMMAND``: accounts and API tokens from the command line.

    add NAME [--admin] [--generate] [--if-missing] [--url URL]   a new account
    list                                             every account
    disable NAME / enable NAME                       stop (or allow again) signing in and its tokens;
                                                     disabling also ends the account's sessions
    reset NAME [--generate]                          a new password; ends the account's sessions
                                                     (its API tokens keep working: revoke them apart)
    token NAME --label L --scope read,upload,delete [--expires DAYS]   a new API token, printed once
    revoke TOKEN_ID                                  revoke a token (ids are in `tokens NAME`)
    tokens NAME                                      a user's tokens

Passwords are asked for twice (``getpass``), or with ``--generate`` drawn
at random and printed once. Exit status: 0 done, 1 refused (the message
says why), 2 a bad ini file or database.
"""

import argparse
import getpass
import sys

import transaction
from pyramid.paster import get_appsettings, setup_logging
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import accounts
from .models import ApiToken, SchemaNotReady, User, check_schema, get_engine, get_session_factory, get_tm_session


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="{{ cookiecutter.project_slug }}-users", description="Manage accounts and API tokens.")
    parser.add_argument("config_uri", help="the ini file, e.g. development.ini")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add an account")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="may see and delete every file")
    add.add_argument("--generate", action="store_true", help="draw a password and print it once")
    add.add_argument("--if-missing", action="store_true", help="do nothing if the account exists")
    add.add_argument("--url", help="the site's address, printed with the password")
    commands.add_parser("list", help="list the accounts")
    for name, text in (("disable", "disable an account"), ("enable", "enable an account again")):
        commands.add_parser(name, help=text).add_argument("name")
    reset = commands.add_parser("reset", help="set a new password")
    reset.add_argument("name")
    reset.add_argument("--generate", action="store_true", help="draw a password and print it once")
    token = commands.add_parser("token", help="make an API token (printed once)")
    token.add_argument("name")
    token.add_argument("--label", required=True)
    token.add_argument("--scope", default="read,upload", help="read, upload and/or delete (default read,upload)")
    token.add_argument("--expires", metavar="DAYS", help="days until it expires (default: never)")
    commands.add_parser("tokens", help="list a user's tokens").add_argument("name")
    commands.add_parser("revoke", help="revoke an API token").add_argument("token_id")
    args = parser.parse_args(argv)

    setup_logging(args.config_uri)
    engine = get_engine(get_appsettings(args.config_uri))
    try:
        check_schema(engine)
    except SchemaNotReady as error:
        print(error, file=sys.stderr)
        return 2
    try:
        with transaction.manager:
            return run(get_tm_session(get_session_factory(engine), transaction.manager), args)
    except accounts.AccountError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        engine.dispose()


def run(dbsession: Session, args: argparse.Namespace) -> int:
    """Carry out one command inside the caller's transaction; :class:`AccountError` refuses it."""
    if args.command == "add":
        if args.if_missing and accounts.find_user(dbsession, args.name) is not None:
            return 0
        password = _new_password(args.generate)
        user = accounts.add_user(dbsession, args.name, password, admin=args.admin)
        print(f"Added {'admin ' if user.is_admin else ''}{user.name}")
        if args.generate:
            where = f" at {args.url}" if args.url else ""
            print(f"Sign in{where} as {user.name}; password (shown once): {password}")
    elif args.command == "list":
        for user in dbsession.scalars(select(User).order_by(User.name)):
            flags = [flag for flag, on in (("admin", user.is_admin), ("disabled", user.disabled)) if on]
            print(f"{user.name}\t{user.created:%Y-%m-%d}\t{' '.join(flags)}".rstrip())
    elif args.command in ("disable", "enable"):
        accounts.set_disabled(_user(dbsession, args.name), args.command == "disable")
        print(f"{args.name} {args.command}d")
    elif args.command == "reset":
        password = _new_password(args.generate)
        accounts.set_password(_user(dbsession, args.name), password)
        print(f"New password set for {args.name}")
        if args.generate:
            print(f"Password (shown once): {password}")
    elif args.command == "token":
        expires = accounts.parse_expiry(args.expires)
        token, secret = accounts.make_token(dbsession, _user(dbsession, args.name), args.label, args.scope, expires)
        print(f"Token {token.id} for {args.name} ({token.scopes}); shown once:")
        print(secret)
    elif args.command == "tokens":
        for token in accounts.tokens_of(dbsession, _user(dbsession, args.name)):
            state = "revoked" if token.revoked else f"expires {token.expires:%Y-%m-%d}" if token.expires else ""
            print(f"{token.id}\t{token.label}\t{token.scopes}\t{state}".rstrip())
    elif args.command == "revoke":
        token = dbsession.get(ApiToken, args.token_id) if len(args.token_id) <= 32 else None
        if token is None:
            raise accounts.AccountError(f"No token has the id {args.token_id!r}")
        token.revoked = token.revoked or accounts.now()
        print(f"Revoked {token.id}")
    return 0


def _user(dbsession: Session, name: str) -> User:
    user = accounts.find_user(dbsession, name)
    if user is None:
        raise accounts.AccountError(f"No account is named {name!r}")
    return user


def _new_password(generate: bool) -> str:
    if generate:
        return accounts.generate_password()
    password = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != password:
        raise accounts.AccountError("The two passwords differ")
    return accounts.check_password(password)


if __name__ == "__main__":
    sys.exit(main())
