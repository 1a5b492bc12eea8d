"""The interactive chat session: history, streamed replies and slash commands."""

from __future__ import annotations

import contextlib
import importlib
import sys
from typing import TYPE_CHECKING, Any, Dict, Generator, List, Optional, cast

from babyapi._infer import CHAT_PATH
from babyapi.cli.context import Context
from babyapi.cli.errors import EXIT_OK, describe_error

if TYPE_CHECKING:
    from babyapi.cli.output import Output
    from babyapi.types import ChatCompletionMessageParam

HELP = """\
/system TEXT   set the system prompt (/system alone shows it)
/model NAME    switch model (/model alone shows it)
/reset         forget the conversation (keeps system prompt and model)
/exit          leave (or Ctrl-D); Ctrl-C stops a reply
//text         send a message that starts with '/'"""


@contextlib.contextmanager
def _output_kept_on_ctrl_c() -> Generator[None, None, None]:
    """Set NOFLSH on the terminal while the session runs.

    Without it the terminal driver discards pending output when Ctrl-C is typed,
    racing with what the session prints right after (the new prompt, "[reply stopped]").
    """
    try:
        import termios
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    try:
        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
        changed = list(saved)
        changed[3] = saved[3] | termios.NOFLSH
        termios.tcsetattr(fd, termios.TCSANOW, changed)
    except (AttributeError, ValueError, OSError, termios.error):
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(fd, termios.TCSANOW, saved)


class ChatSession:
    """A conversation in the terminal that keeps its history between turns."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.out: Output = ctx.out
        self.model = ctx.model()
        self.system: Optional[str] = ctx.args.system
        self.history: List[ChatCompletionMessageParam] = []
        self._readline = False

    def run(self) -> int:
        """Read, send, stream; until /exit or Ctrl-D."""
        with _output_kept_on_ctrl_c():
            return self._loop()

    def _loop(self) -> int:
        try:
            # Loading readline is what gives input() line editing and history.
            importlib.import_module("readline")
            self._readline = True
        except ImportError:  # pragma: no cover - Windows without pyreadline
            pass
        self.note(f"babyapi chat · model {self.model} · /help for commands · Ctrl-D to exit")
        while True:
            try:
                line = input(self.prompt())
            except EOFError:
                self.out.write("\n")
                return EXIT_OK
            except KeyboardInterrupt:
                self.out.write("\n")
                self.note("(Ctrl-D or /exit to leave)")
                continue
            text = line.strip()
            if not text:
                continue
            if text.startswith("/") and not text.startswith("//"):
                if not self.command(text):
                    return EXIT_OK
                continue
            self.reply(text[1:] if text.startswith("//") else text)

    def prompt(self) -> str:
        if not self.out.color:
            return "> "
        styled = self.out.style("> ", "bold", "green")
        if not self._readline:
            return styled
        # readline must be told which bytes take no room on screen, or it miscounts the width.
        return styled.replace("\x1b[1;32m", "\001\x1b[1;32m\002").replace(
            "\x1b[0m", "\001\x1b[0m\002"
        )

    def note(self, text: str) -> None:
        self.out.line(self.out.style(text, "dim"))

    def command(self, text: str) -> bool:
        """Run a slash command; False means leave the session."""
        name, _, rest = text.partition(" ")
        rest = rest.strip()
        if name in ("/exit", "/quit"):
            return False
        if name == "/help":
            self.out.line(HELP)
        elif name == "/reset":
            self.history.clear()
            self.note("conversation cleared")
        elif name == "/system":
            if rest:
                self.system = rest
                self.note("system prompt set")
            else:
                self.note(f"system prompt: {self.system or '(none)'}")
        elif name == "/model":
            if rest:
                self.model = rest
                self.note(f"model: {self.model}")
            else:
                self.note(f"model: {self.model}")
        else:
            self.note(f"unknown command {name}; /help lists them")
        return True

    def messages(self) -> List[ChatCompletionMessageParam]:
        system: List[ChatCompletionMessageParam] = []
        if self.system:
            system.append({"role": "system", "content": self.system})
        return system + self.history

    def _respond(self, parts: List[str]) -> Dict[str, Any]:
        """One turn on the Responses API: the conversation goes as input items, so a server
        that does not store responses still sees it all."""
        from babyapi.resources.responses import PATH

        body: Dict[str, Any] = {"model": self.model, "input": list(self.history)}
        if self.system:
            body["instructions"] = self.system
        body.update(self.ctx.responses_options())
        return self.ctx.stream_text(
            PATH,
            lambda options: cast(
                Any, self.ctx.client.responses.stream(request_options=options, **body)
            ),
            parts,
        )

    def reply(self, text: str) -> None:
        """Send one user turn and stream the answer; errors and Ctrl-C keep the session."""
        from babyapi import BabyAPIError

        self.history.append({"role": "user", "content": text})
        parts: List[str] = []
        messages = self.messages()
        try:
            if self.ctx.args.responses:
                answer = self._respond(parts)
            else:
                answer = self.ctx.stream_text(
                    CHAT_PATH,
                    # Options unpacked from a dict match every overload; the plain one is meant.
                    lambda options: cast(
                        Any,
                        self.ctx.client.chat.completions.stream(
                            model=self.model,
                            messages=messages,
                            request_options=options,
                            **self.ctx.body_options(),
                        ),
                    ),
                    parts,
                )
        except KeyboardInterrupt:
            self.out.end_line()
            self.note("[reply stopped]")
            # What was shown stays in the history, so the model sees what the user saw.
            if parts:
                self.history.append({"role": "assistant", "content": "".join(parts)})
            else:
                self.history.pop()
            return
        except BabyAPIError as exc:
            self.out.end_line()
            self.history.pop()
            print(
                describe_error(exc, action="chat", base_url=self.ctx.base_url(), in_session=True),
                file=sys.stderr,
                flush=True,
            )
            return
        self.out.end_line()
        self.ctx.note_if_cut(answer)
        self.history.append({"role": "assistant", "content": "".join(parts)})
