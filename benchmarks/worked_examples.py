"""Eight worked arithmetic word problems: the few-shot prompt of ``bench_headline.py --fewshot``.

Written for this benchmark (not taken from a task set, so no held-out question is among them):
each solves the problem in a few short steps and ends "The answer is N.", the shape of
calibration prompt many users run on grade-school maths.
"""

from __future__ import annotations

WORKED_EXAMPLES: tuple[tuple[str, str], ...] = (
    ("A baker makes 24 rolls in the morning and 18 in the afternoon. She sells 35 of them. "
     "How many rolls are left?",
     "She makes 24 + 18 = 42 rolls. After selling 35, 42 - 35 = 7 are left. The answer is 7."),
    ("Tom reads 12 pages a day. How many pages does he read in 2 weeks?",
     "Two weeks have 2 × 7 = 14 days. He reads 12 × 14 = 168 pages. The answer is 168."),
    ("A box holds 6 cans. How many boxes are needed for 45 cans?",
     "45 ÷ 6 = 7 with 3 cans left over, and those 3 cans need a box too, so 7 + 1 = 8 boxes. "
     "The answer is 8."),
    ("Maria buys 3 notebooks at $4 each and a pen for $2. She pays with a $20 bill. "
     "How much change does she get?",
     "The notebooks cost 3 × 4 = 12 dollars, and with the pen 12 + 2 = 14 dollars. Her change is "
     "20 - 14 = 6 dollars. The answer is 6."),
    ("A garden has 5 rows of 8 tomato plants. Half of the plants have ripe tomatoes. "
     "How many plants have ripe tomatoes?",
     "There are 5 × 8 = 40 plants. Half of them is 40 ÷ 2 = 20. The answer is 20."),
    ("Sam had 50 marbles. He gave 12 to his sister and then won 9 more. How many marbles does he "
     "have now?",
     "After giving 12 away he has 50 - 12 = 38. After winning 9 he has 38 + 9 = 47. The answer is 47."),
    ("A train travels 60 miles per hour for 3 hours and then 40 miles per hour for 2 hours. "
     "How far does it travel?",
     "The first part is 60 × 3 = 180 miles, the second 40 × 2 = 80 miles, in all 180 + 80 = 260 "
     "miles. The answer is 260."),
    ("A shirt costs $30. It is on sale for 20% off. What is the sale price?",
     "20% of 30 is 0.2 × 30 = 6 dollars. The sale price is 30 - 6 = 24 dollars. The answer is 24."),
)


def few_shot_messages(question: str, shots: int) -> list[dict]:
    """The first ``shots`` worked examples as earlier chat turns, then ``question``."""
    if not 0 < shots <= len(WORKED_EXAMPLES):
        raise SystemExit(f"--fewshot takes 1 to {len(WORKED_EXAMPLES)} examples")
    turns: list[dict] = []
    for q, a in WORKED_EXAMPLES[:shots]:
        turns += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    return turns + [{"role": "user", "content": question}]
