from bot.cli import app

if __name__ == "__main__":  # not when a worker process (spawn) imports it
    app()
