"""System prompts. Kept lean: small local models re-read them on every cold start, and
follow the format far better with one short worked example."""

from __future__ import annotations

from typing import Iterable

__all__ = ["code_system_prompt", "tool_calling_system_prompt", "PLANNING_PROMPT",
           "FINAL_ANSWER_PROMPT", "managed_agent_task"]

_CODE_PROMPT = """You solve tasks by writing Python code, step by step.
Each reply: a short "Thought:", then one code block, then stop:
Thought: <what you will do>
Code:
```py
<python code>
```<end_code>
The code runs; its printed output comes back to you as "Observation:". Variables and
functions persist between steps. print() what you need to see. When you know the answer,
call final_answer(<the answer value>).

Example
Task: "What is the 10th Fibonacci number?"
Thought: I compute it in a loop and return it.
Code:
```py
a, b = 0, 1
for _ in range(10):
    a, b = b, a + b
final_answer(a)
```<end_code>

Functions you can call in your code:
```py
{tools}
```
{managed}Imports allowed: {imports}.
Rules: always write a code block; use only variables you defined; do not re-run code that
failed the same way; pass the computed value to final_answer, not None.{instructions}"""

_TOOL_CALLING_PROMPT = """You solve tasks by calling tools, one step at a time.
Reply with one tool call as a JSON object, then stop:
{{"name": "<tool name>", "arguments": {{<argument>: <value>}}}}
The result comes back to you as "Observation:". When you know the answer, call the
final_answer tool: {{"name": "final_answer", "arguments": {{"answer": "<the answer>"}}}}

Example
Task: "What is the weather in Paris?"
{{"name": "get_weather", "arguments": {{"location": "Paris"}}}}
Observation: "Sunny, 21 C"
{{"name": "final_answer", "arguments": {{"answer": "It is sunny and 21 C in Paris."}}}}

Tools:
{tools}
{managed}{instructions}"""

_MANAGED = """Team members you can give tasks to (call them like tools with a `task` string,
explain the task in detail; they answer with a report):
{agents}
"""

PLANNING_PROMPT = """Before acting, make a short plan for the task above.
List 1) the facts given, 2) the facts to find or compute, 3) the steps, numbered.
Be brief. Do not write code or call tools now. End the plan with <end_plan>."""

FINAL_ANSWER_PROMPT = """You have reached the maximum number of steps. Using what you found
so far, give your best final answer to the task now, as plain text, with no code."""


def _managed_block(managed: dict) -> str:
    if not managed:
        return ""
    lines = [f"- {name}(task: str) -> str: {agent.description}" for name, agent in managed.items()]
    return _MANAGED.format(agents="\n".join(lines))


def _instructions(instructions: str | None) -> str:
    return f"\n{instructions.strip()}" if instructions else ""


def code_system_prompt(tools: dict, managed: dict, imports: Iterable[str],
                       instructions: str | None = None) -> str:
    tool_text = "\n\n".join(t.to_code_prompt() for t in tools.values())
    imports = sorted(set(imports))
    return _CODE_PROMPT.format(tools=tool_text, managed=_managed_block(managed),
                               imports=", ".join(imports) if imports else "none",
                               instructions=_instructions(instructions))


def tool_calling_system_prompt(tools: dict, managed: dict,
                               instructions: str | None = None) -> str:
    tool_text = "\n".join(t.to_tool_calling_prompt() for t in tools.values())
    return _TOOL_CALLING_PROMPT.format(tools=tool_text, managed=_managed_block(managed),
                                       instructions=_instructions(instructions))


def managed_agent_task(name: str, task: str) -> str:
    return (f"You are '{name}', a team member. Your manager gives you this task:\n{task}\n"
            "Work on it, then give a final answer with everything the manager needs: "
            "the result and any important detail or doubt.")
