"""The short text the built-in generator learns from.

Written for this project and dedicated to the public domain (CC0). It is small
on purpose: a few KB keep start-up instant while giving the Markov chain enough
variety that replies read like text.
"""

from __future__ import annotations

CORPUS = """\
The small server woke before dawn and listened to the quiet network. A calm API is a kind \
promise to the people who use it. Every request deserves a clear answer, and every answer \
deserves a name. The model read the prompt slowly and wrote a short reply in plain words. \
Good tools stay out of the way until you need them, and then they do one thing well.

In the morning the river carried small boats past the old mill. The miller kept a little \
notebook of every storm, every flood and every calm week of summer. He said that patience is \
a tool like any other, and that a tool you trust is worth ten you have to watch. The children \
of the village learned to read the clouds, and the clouds were kind to them that year.

A tiny model does not dream of being large. It learns the shape of a sentence, the rhythm of \
a question and the weight of a reply. It answers quickly because it has little to carry. When \
the answer is not known, a good model says so and waits for a better question. When the road \
is long, a good traveller keeps a light bag and a steady pace.

Release notes should be short and honest. Tell the reader what changed, why it matters and \
what to do next. A friendly opener helps, but a clear list of changes helps more. Name the \
errors people will meet, and tell them how to recover. Keep the defaults calm, keep the \
surface small and keep the promises you make.

The garden behind the station grew tomatoes, beans and tall yellow flowers. The keeper of the \
station watered them at noon and wrote the weather on a slate by the door. Trains came and \
went, and the flowers turned to follow the sun. Nobody hurried, yet every train left on time.

Streams of text arrive one token at a time, like rain on a window. The reader waits for the \
last drop and then the story is complete. If the stream breaks, the reader should know, and \
the writer should try again with care. A retry is a second chance, not a second mistake. \
Wait a little longer each time, and stop when the deadline says so.

Three principles guide a calm interface. First, say what you mean in the fewest words. Second, \
fail loudly and early, with a message that tells the user what to do. Third, never surprise \
the person who trusted you with their data. These principles are old, and they are still good.

At night the lighthouse turned its slow beam across the harbour. The keeper counted the ships \
and the ships counted the flashes. Each light meant the same simple thing: the shore is here, \
the rocks are there, and the way home is clear. A small light in the right place is worth more \
than a great fire in the wrong one.

The library kept its oldest books on the top shelf, where the morning sun could not reach them. \
Readers climbed the ladder with care and read by the window. Some books were about the sea and \
some were about the stars, but all of them were about people who wanted to understand the world \
a little better than before.
"""
