"""Set up, start and test real OpenAI-compatible servers (llama.cpp, vLLM CPU) for `make interop`."""
