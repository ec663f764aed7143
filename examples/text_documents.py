"""Which documents does Gemma 3 270M use to answer a question? (offline; first run converts the model once)

PYTHONPATH=src python examples/text_documents.py
"""

from spectrex import explain_text
from spectrex.models import load_model

documents = [
    "The waiter is called Tom Baker.",
    "The chef's first name is Maria.",
    "The chef's family name is Lopez.",
]
template = "{text}\n\nQuestion: What is the chef's full name?\nAnswer: The chef's full name is"
gemma = load_model("gemma-3-270m", template=template)  # no target: explain the model's own answer
result = explain_text(documents, gemma)
print(f"explained: log P({result.metadata['target']!r} | documents)")
for term in result.top(6):
    print(f"{term.value:+8.3f}  {' × '.join(term.labels)}")
print("Shapley values:", result.to("SV").first_order().round(2))
