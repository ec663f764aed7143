"""The one colour convention of every view: red raises the output, blue lowers it.

Plots, the notebook summary and the HTML report all take their colours from here (the report's
script receives them with its data), so a sign reads the same everywhere.
"""

#: a positive value: the part (or group) raises the explained output
POSITIVE = "#d9483b"
#: a negative value: it lowers the output
NEGATIVE = "#3b6fd9"


def sign_colour(value: float) -> str:
    """:data:`POSITIVE` for values ≥ 0, else :data:`NEGATIVE`."""
    return POSITIVE if value >= 0 else NEGATIVE
