"""ONNX's own backend test cases (model + inputs + expected outputs) for the ops tinygraph imports.

Two sources, as the onnx package provides them:
- node tests: ``onnx/backend/test/data/node/<test>/`` when the installed onnx ships that data;
  wheels of onnx >= 1.2x don't, so they are generated in memory with
  ``onnx.backend.test.case.node.collect_testcases()``, the function onnx's own
  ``backend-test-tools generate-data`` writes that directory with (same models, same data);
- the older model tests shipped on disk: ``data/{simple,light,pytorch-operator,pytorch-converted}``
  (opset 6-9 models: legacy Softmax, Gemm and broadcasting attributes).
Used by tests/test_onnx_conformance.py and by ``python tests/onnx_cases.py`` (the docs' numbers).
"""

from __future__ import annotations

import glob
import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Case:
    name: str
    source: str  # "node" or the on-disk directory kind
    model: Any  # onnx.ModelProto
    data_sets: list[tuple[list[np.ndarray], list[np.ndarray]]]
    rtol: float = 1e-3  # what onnx's backend runner uses for node tests
    atol: float = 1e-7

    @property
    def op_types(self) -> set[str]:
        return {n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}" for n in self.model.graph.node}

    @property
    def opset(self) -> int:
        return next(o.version for o in self.model.opset_import if o.domain in ("", "ai.onnx"))


def _read_dir(onnx: Any, path: str, source: str) -> Case:
    from onnx import numpy_helper

    model = onnx.load(os.path.join(path, "model.onnx"))
    data_sets = []
    for ds in sorted(glob.glob(os.path.join(path, "test_data_set_*"))):
        sets = []
        for kind in ("input", "output"):
            arrays = []
            for k in range(len(glob.glob(os.path.join(ds, f"{kind}_*.pb")))):
                t = onnx.TensorProto()
                with open(os.path.join(ds, f"{kind}_{k}.pb"), "rb") as f:
                    t.ParseFromString(f.read())
                arrays.append(numpy_helper.to_array(t))
            sets.append(arrays)
        data_sets.append((sets[0], sets[1]))
    return Case(os.path.basename(path), source, model, data_sets)


def _array(value: Any) -> Any:
    from onnx import TensorProto, numpy_helper

    return numpy_helper.to_array(value) if isinstance(value, TensorProto) else value


def all_cases() -> list[Case]:
    """Every backend test case the installed onnx provides (node tests and on-disk model tests)."""
    import onnx

    data = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
    cases: list[Case] = []
    node_dir = os.path.join(data, "node")
    if os.path.isdir(node_dir):
        cases += [_read_dir(onnx, p, "node") for p in sorted(glob.glob(os.path.join(node_dir, "*")))]
    else:
        from onnx.backend.test.case.node import collect_testcases

        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # the case generators' own numpy warnings
            for c in collect_testcases():
                assert c.model is not None and c.data_sets is not None
                sets = [([_array(a) for a in i], [_array(a) for a in o]) for i, o in c.data_sets]
                cases.append(Case(c.name, "node", c.model, sets, WIDER_RTOL.get(c.name, c.rtol), c.atol))
    for kind in ("simple", "light", "pytorch-operator", "pytorch-converted"):
        for p in sorted(glob.glob(os.path.join(data, kind, "*"))):
            if os.path.exists(os.path.join(p, "model.onnx")):
                cases.append(_read_dir(onnx, p, kind))
    return cases


def supported_cases() -> list[Case]:
    """The cases whose ops tinygraph's importer all supports."""
    import tinygraph as tg

    supported = set(tg.onnx.supported_ops())
    return [c for c in all_cases() if c.op_types <= supported]


#: Cases whose expected values are further from the exact result than tinygraph's, by more than the
#: case's tolerance: case name -> the relative tolerance they are checked with instead.
WIDER_RTOL = {
    # ONNX's reference computes the float16 Softmax step by step in float16 (exp rounded, then
    # divided): its probabilities [0.559, 0.4414] sum to 1.0004. tinygraph computes it in float32
    # and rounds once, giving the correctly rounded [0.5586, 0.4412]. Through the last MatMul,
    # Y[0,0,1,4] is 0.4690 here, 0.4695 expected, 0.46918 exact: two float16 ulps (1.2e-3) apart,
    # tinygraph the nearer (1.09 ulp at most from the exact result over Y, the expected 1.42).
    # onnxruntime, made to round every intermediate to float16 (each one a graph output), is
    # 1.2e-3 off too; by default it passes because it keeps float32 between its upcast ops.
    "test_attention_4d_causal_fp16_expanded": 2e-3,  # two float16 ulps
}

#: Cases tinygraph rejects on purpose, each with the reason its error must give.
REJECTED = {
    "test_identity_sequence": "is a sequence_type",  # tinygraph values are tensors
    "test_identity_opt": "is a optional_type",  # same: an optional<tensor> value
    "test_equal_string": "element type STRING",  # numpy holds no ONNX strings
    "test_equal_string_broadcast": "element type STRING",
    # sequence_lens fed at run time: per-batch lengths are refused unless known at load time (ops/recurrent.py)
    "test_lstm_with_peepholes": "sequence_lens",
    # MaxPool's second output, the argmax positions, is not computed (one value per node; see ops/pooling.py)
    "test_maxpool_with_argmax_2d_precomputed_pads": "Indices output",
    "test_maxpool_with_argmax_2d_precomputed_strides": "Indices output",
    # Normalization and dropout run as at inference: training mode (batch statistics, random masks) is refused,
    # and so is Dropout's mask output (a bool second output; one value per node).
    "test_batchnorm_example_training_mode": "training-mode batch normalization",
    "test_batchnorm_epsilon_training_mode": "training-mode batch normalization",
    "test_dropout_default_mask": "mask output",
    "test_dropout_default_mask_ratio": "mask output",
    "test_training_dropout_default": "training.mode",
    "test_training_dropout": "training.mode",
    "test_training_dropout_zero_ratio": "training.mode",
    "test_training_dropout_default_mask": "mask output",
    "test_training_dropout_mask": "mask output",
    "test_training_dropout_zero_ratio_mask": "mask output",
    # Attention: only output Y of q, k, v and a mask is computed (see tinygraph/ops/attention.py). Refused: the KV
    # cache (past_key/past_value inputs, present_* outputs), the qk_matmul_output output, nonpad_kv_seqlen
    # (per-batch valid lengths) and sliding windows (opset 25).
    "test_attention_3d_diff_heads_with_past_and_present": "the KV cache",
    "test_attention_3d_gqa_with_past_and_present": "the KV cache",
    "test_attention_3d_with_past_and_present": "the KV cache",
    "test_attention_3d_with_past_and_present_qk_matmul": "the KV cache",
    "test_attention_3d_with_past_and_present_qk_matmul_bias": "the KV cache",
    "test_attention_3d_with_past_and_present_qk_matmul_softcap": "the KV cache",
    "test_attention_3d_with_past_and_present_qk_matmul_softmax": "the KV cache",
    "test_attention_4d_causal_with_past_and_present": "the KV cache",
    "test_attention_4d_diff_heads_with_past_and_present": "the KV cache",
    "test_attention_4d_diff_heads_with_past_and_present_mask3d": "the KV cache",
    "test_attention_4d_diff_heads_with_past_and_present_mask4d": "the KV cache",
    "test_attention_4d_gqa_with_past_and_present": "the KV cache",
    "test_attention_4d_gqa_with_past_and_present_fp16": "the KV cache",
    "test_attention_4d_with_past_and_present": "the KV cache",
    "test_attention_4d_with_past_and_present_qk_matmul": "the KV cache",
    "test_attention_4d_with_past_and_present_qk_matmul_bias": "the KV cache",
    "test_attention_4d_with_past_and_present_qk_matmul_bias_3d_mask": "the KV cache",
    "test_attention_4d_with_past_and_present_qk_matmul_bias_3d_mask_causal": "the KV cache",
    "test_attention_4d_with_past_and_present_qk_matmul_bias_4d_mask": "the KV cache",
    "test_attention_4d_with_past_and_present_qk_matmul_bias_4d_mask_causal": "the KV cache",
    "test_attention_local_window_with_past": "the KV cache",
    "test_attention_23_fullymasked_qk_matmul_output_mode3_zero": "only output Y",
    "test_attention_24_fullymasked_qk_matmul_output_mode3_zero": "only output Y",
    "test_attention_24_qk_matmul_output_mode3_softmax_precision": "only output Y",
    "test_attention_4d_with_qk_matmul": "only output Y",
    "test_attention_4d_with_qk_matmul_bias": "only output Y",
    "test_attention_4d_with_qk_matmul_softcap": "only output Y",
    "test_attention_4d_with_qk_matmul_softmax": "only output Y",
    "test_attention_local_window_gqa_rank4_mask": "only output Y",
    "test_attention_4d_causal_nonpad_attn_mask_composition": "nonpad_kv_seqlen",
    "test_attention_4d_causal_nonpad_batch_prefill": "nonpad_kv_seqlen",
    "test_attention_4d_causal_nonpad_continued_prefill": "nonpad_kv_seqlen",
    "test_attention_4d_causal_nonpad_negative_offset_structural_empty": "nonpad_kv_seqlen",
    "test_attention_4d_diff_heads_mask4d_padded_kv": "nonpad_kv_seqlen",
    "test_attention_4d_gqa_causal_nonpad_decode": "nonpad_kv_seqlen",
    "test_attention_4d_gqa_causal_nonpad_decode_fp16": "nonpad_kv_seqlen",
    "test_attention_local_window_ext_cache_float16_mask": "nonpad_kv_seqlen",
    "test_attention_local_window_ext_cache_rank2_mask": "nonpad_kv_seqlen",
    "test_attention_local_window_ext_cache_rank3_head_mask": "nonpad_kv_seqlen",
    "test_attention_local_window_ext_cache_rank4_batch_mask": "nonpad_kv_seqlen",
    "test_attention_3d_local_window": "sliding-window",
    "test_attention_bidirectional_window": "sliding-window",
    "test_attention_local_window": "sliding-window",
    "test_attention_local_window_rank1_boolean_mask": "sliding-window",
}

#: ONNX element types without a numpy dtype (ml_dtypes' look-alikes don't saturate as ONNX
#: specifies). A case using one is rejected, at load time, with an error naming the type.
NO_NUMPY_TYPE = {"BFLOAT16", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "FLOAT8E8M0",
                 "FLOAT4E2M1", "INT4", "UINT4", "INT2", "UINT2"}


def exotic_types(case: Case) -> list[str]:
    """The element types without a numpy dtype that the case's inputs, outputs or Casts use."""
    from onnx import TensorProto

    g = case.model.graph
    types = [v.type.tensor_type.elem_type for v in [*g.input, *g.output] if v.type.HasField("tensor_type")]
    types += [a.i for n in g.node if n.op_type == "Cast" for a in n.attribute if a.name == "to"]
    return sorted({TensorProto.DataType.Name(t) for t in types} & NO_NUMPY_TYPE)


def rejected(cases: list[Case]) -> dict[str, str]:
    """Case name -> the pattern the load error must match, for the cases tinygraph refuses."""
    out = dict(REJECTED)
    for c in cases:
        types = exotic_types(c)
        if types:
            out[c.name] = "element type (" + "|".join(types) + ")"
    return out


if __name__ == "__main__":  # the numbers for docs/onnx.md
    import collections

    every = all_cases()
    sel = supported_cases()
    refused = rejected(sel)
    run = [c for c in sel if c.name not in refused]
    print(f"{len(every)} cases in all ({dict(collections.Counter(c.source for c in every))})")
    print(f"{len(sel)} use only supported ops; {len(run)} run ({dict(collections.Counter(c.source for c in run))})")
    print(f"{len(refused)} refused on purpose:")
    print("  ", {k: v for k, v in REJECTED.items()})
    print("   element types:", dict(collections.Counter(t for c in sel for t in exotic_types(c))))
    print("ops exercised:", dict(sorted(collections.Counter(op for c in run for op in c.op_types).items())))
    print("opsets:", dict(sorted(collections.Counter(c.opset for c in run).items())))
