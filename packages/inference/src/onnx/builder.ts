/**
 * A small ONNX graph builder over ONNX's published protobuf schema (the `onnx-proto` package:
 * protobufjs code generated from onnx.proto). Names are generated, so graph code reads like the
 * forward pass it mirrors: `const h = g.add(g.matMul(x, w), b)`.
 */
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

/** The ONNX opset the exports target (LayerNormalization needs ≥ 17). */
export const OPSET = 17;
const IR_VERSION = 8;

/** Attribute values: an integer, a list of integers, a string, or a float marked with `float()`. */
export type Attr = number | number[] | string | { float: number };

/** Mark an attribute value as FLOAT (plain numbers are INT attributes). */
export const float = (value: number): { float: number } => ({ float: value });

export type ElemType = "float" | "int64";
const ELEM = { float: onnx.TensorProto.DataType.FLOAT, int64: onnx.TensorProto.DataType.INT64 } as const;

/** A symbolic or fixed dimension of a graph input or output. */
export type Dim = string | number;

export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private counter = 0;

  constructor(readonly name: string) {}

  private fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  input(name: string, type: ElemType, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** Expose `value` as graph output `name` (an Identity keeps names stable whatever produced it). */
  output(name: string, value: string, type: ElemType, dims: Dim[]): void {
    this.node("Identity", [value], {}, name);
    this.outputs.push(valueInfo(name, type, dims));
  }

  /** A float32 constant (weights, scalars). */
  constant(data: Float32Array | number[], dims: number[], hint = "w"): string {
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    const n = dims.reduce((a, b) => a * b, 1);
    if (n !== values.length)
      throw new RangeError(`initializer ${hint}: dims [${dims}] need ${n} values, got ${values.length}`);
    const name = this.fresh(hint);
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims,
        dataType: ELEM.float,
        rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
      }),
    );
    return name;
  }

  /** An int64 constant (shapes, axes, indices). */
  int64(values: number[], dims: number[] = [values.length], hint = "i"): string {
    const name = this.fresh(hint);
    const raw = new BigInt64Array(values.map((v) => BigInt(v)));
    this.initializers.push(
      onnx.TensorProto.create({ name, dims, dataType: ELEM.int64, rawData: new Uint8Array(raw.buffer) }),
    );
    return name;
  }

  /** Add a node; returns its (first) output's name. */
  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, output?: string): string {
    const out = output ?? this.fresh(op.toLowerCase());
    this.nodes.push(
      onnx.NodeProto.create({
        opType: op,
        name: this.fresh(`n_${op}`),
        input: inputs,
        output: [out],
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return out;
  }

  /** A node with several outputs (e.g. Split). */
  nodeMulti(op: string, inputs: string[], count: number, attrs: Record<string, Attr> = {}): string[] {
    const outs = Array.from({ length: count }, () => this.fresh(op.toLowerCase()));
    this.nodes.push(
      onnx.NodeProto.create({
        opType: op,
        name: this.fresh(`n_${op}`),
        input: inputs,
        output: outs,
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outs;
  }

  add(a: string, b: string): string {
    return this.node("Add", [a, b]);
  }
  sub(a: string, b: string): string {
    return this.node("Sub", [a, b]);
  }
  mul(a: string, b: string): string {
    return this.node("Mul", [a, b]);
  }
  div(a: string, b: string): string {
    return this.node("Div", [a, b]);
  }
  matMul(a: string, b: string): string {
    return this.node("MatMul", [a, b]);
  }
  /** x·W + b for x [..., Din], W [Din, Dout], b [Dout]. */
  linear(x: string, w: string, b?: string): string {
    const y = this.matMul(x, w);
    return b === undefined ? y : this.add(y, b);
  }
  layerNorm(x: string, gamma: string, beta: string, eps: number): string {
    return this.node("LayerNormalization", [x, gamma, beta], { axis: -1, epsilon: float(eps) });
  }
  reshape(x: string, shape: number[]): string {
    return this.node("Reshape", [x, this.int64(shape)]);
  }
  transpose(x: string, perm: number[]): string {
    return this.node("Transpose", [x], { perm });
  }
  softmax(x: string): string {
    return this.node("Softmax", [x], { axis: -1 });
  }
  unsqueeze(x: string, axes: number[]): string {
    return this.node("Unsqueeze", [x, this.int64(axes)]);
  }
  reduceSum(x: string, axes: number[], keepdims: boolean): string {
    return this.node("ReduceSum", [x, this.int64(axes)], { keepdims: keepdims ? 1 : 0 });
  }

  /** Serialise to ONNX ModelProto bytes. */
  finish(producer: { name: string; version: string }, metadata: Record<string, string> = {}): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: "", version: OPSET }],
      producerName: producer.name,
      producerVersion: producer.version,
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      graph: onnx.GraphProto.create({
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      }),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, type: ElemType, dims: Dim[]): onnxProto.onnx.IValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: ELEM[type],
        shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });
}

function attribute(name: string, v: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === "string") return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if (typeof v === "object") return { name, type: T.FLOAT, f: v.float };
  if (!Number.isInteger(v)) throw new RangeError(`attribute ${name}: ${v} is not an integer (use float())`);
  return { name, type: T.INT, i: v };
}
