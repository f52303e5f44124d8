import logging

from bot.logs import setup_logging


def test_debug_logging_scrubs_the_token_and_keeps_sql_parameters_out(capsys):
    setup_logging(logging.DEBUG, secrets=["SECRET-TOKEN"])
    try:
        logging.getLogger("kindred.test").debug("token is SECRET-TOKEN")
        logging.getLogger("aiosqlite").debug("executing 'INSERT ...' with ('my private ask',)")
        err = capsys.readouterr().err
        assert "[redacted]" in err and "SECRET-TOKEN" not in err
        assert "my private ask" not in err
    finally:
        logging.getLogger().handlers.clear()
        for name in ("discord", "aiosqlite"):
            logging.getLogger(name).setLevel(logging.NOTSET)
