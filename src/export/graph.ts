// A small builder for ONNX graphs: named initializers, nodes with typed attributes, graph
// inputs/outputs with symbolic dimensions, and the ModelProto around them.
import {
  AttributeType,
  DataType,
  encodeModel,
  type AttributeMsg,
  type ModelMsg,
  type NodeMsg,
  type TensorMsg,
  type ValueInfoMsg,
} from './proto.js';

/** Attribute values carry their ONNX type explicitly: 1 (INT) and 1.0 (FLOAT) differ in ONNX. */
export type Attr =
  { int: number } | { float: number } | { ints: number[] } | { floats: number[] } | { string: string } | { strings: string[] };

export const int = (v: number): Attr => ({ int: v });
export const float = (v: number): Attr => ({ float: v });
export const ints = (v: number[]): Attr => ({ ints: v });
export const floats = (v: number[]): Attr => ({ floats: v });
export const str = (v: string): Attr => ({ string: v });

export type Dim = number | string;

/** ONNX IR version 8 pairs with opset 17 (ONNX 1.12), which ORT has supported for years. */
export const IR_VERSION = 8;
export const OPSET = 17;

function attribute(name: string, a: Attr): AttributeMsg {
  const enc = new TextEncoder();
  if ('int' in a) {
    if (!Number.isInteger(a.int)) throw new Error(`attribute ${name}: ${a.int} is not an integer`);
    return { name, type: AttributeType.INT, i: a.int };
  }
  if ('float' in a) return { name, type: AttributeType.FLOAT, f: a.float };
  if ('ints' in a) return { name, type: AttributeType.INTS, ints: a.ints };
  if ('floats' in a) return { name, type: AttributeType.FLOATS, floats: a.floats };
  if ('string' in a) return { name, type: AttributeType.STRING, s: enc.encode(a.string) };
  return { name, type: AttributeType.STRINGS, strings: a.strings.map((s) => enc.encode(s)) };
}

function valueInfo(name: string, elemType: number, dims: readonly Dim[]): ValueInfoMsg {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

function littleEndianBytes(data: Float32Array | Int32Array | BigInt64Array | Int8Array | Uint8Array): Uint8Array {
  if (data instanceof Int8Array || data instanceof Uint8Array)
    return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  // Typed arrays use the platform's byte order; ONNX raw_data is little-endian.
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  else if (data instanceof Int32Array) data.forEach((v, i) => view.setInt32(i * 4, v, true));
  else data.forEach((v, i) => view.setBigInt64(i * 8, v, true));
  return out;
}

/** A TensorProto message of raw little-endian data. */
export function tensorMsg(
  name: string,
  data: Float32Array | BigInt64Array | Int8Array | Uint8Array | Int32Array,
  dims: readonly number[],
): TensorMsg {
  const type =
    data instanceof Float32Array
      ? DataType.FLOAT
      : data instanceof BigInt64Array
        ? DataType.INT64
        : data instanceof Int8Array
          ? DataType.INT8
          : data instanceof Uint8Array
            ? DataType.UINT8
            : DataType.INT32;
  return { name, dims: [...dims], data_type: type, raw_data: littleEndianBytes(data) };
}

export class GraphBuilder {
  private readonly nodes: NodeMsg[] = [];
  private readonly inits: TensorMsg[] = [];
  private readonly inputs: ValueInfoMsg[] = [];
  private readonly outputs: ValueInfoMsg[] = [];
  private readonly used = new Set<string>();
  private readonly shapes = new Map<string, number[]>();

  constructor(readonly name: string) {}

  /** A name not used yet in this graph, from a readable prefix. */
  fresh(prefix: string): string {
    const base = prefix.replace(/[^A-Za-z0-9_./:-]/g, '_');
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  input(name: string, dims: readonly Dim[], elemType: number = DataType.FLOAT): string {
    this.used.add(name);
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, dims: readonly Dim[], elemType: number = DataType.FLOAT): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** A float32 constant; returns its (fresh) name. */
  constant(prefix: string, data: Float32Array | number[], dims: readonly number[]): string {
    const arr = data instanceof Float32Array ? data : Float32Array.from(data);
    return this.addTensor(prefix, arr, dims, DataType.FLOAT);
  }

  /** An int64 constant (shapes, axes); returns its name. */
  int64(prefix: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.addTensor(prefix, BigInt64Array.from(values.map((v) => BigInt(v))), dims, DataType.INT64);
  }

  /** An int8 constant (quantized weights); returns its name. */
  int8(prefix: string, values: Int8Array, dims: readonly number[]): string {
    return this.addTensor(prefix, values, dims, DataType.INT8);
  }

  /** An int32 constant (quantized biases); returns its name. */
  int32(prefix: string, values: Int32Array, dims: readonly number[]): string {
    return this.addTensor(prefix, values, dims, DataType.INT32);
  }

  /** A uint8 constant (zero points); returns its name. */
  uint8(prefix: string, values: readonly number[] | Uint8Array, dims: readonly number[]): string {
    return this.addTensor(prefix, Uint8Array.from(values), dims, DataType.UINT8);
  }

  private addTensor(
    prefix: string,
    data: Float32Array | BigInt64Array | Int8Array | Uint8Array | Int32Array,
    dims: readonly number[],
    dataType: number,
  ): string {
    const n = dims.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`constant ${prefix}: ${data.length} values for shape [${dims.join(',')}]`);
    const name = this.fresh(prefix);
    this.inits.push({ name, dims: [...dims], data_type: dataType, raw_data: littleEndianBytes(data) });
    this.shapes.set(name, [...dims]);
    return name;
  }

  /** Shape of a constant this builder holds (undefined for computed values). */
  constantShape(name: string): number[] | undefined {
    return this.shapes.get(name);
  }

  /** Adds a node; returns its output names (fresh names derived from the node's name). */
  node(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, nOutputs = 1, name?: string): string[] {
    const nodeName = this.fresh(name ?? opType);
    const outputs = Array.from({ length: nOutputs }, (_, i) => this.fresh(nOutputs === 1 ? `${nodeName}_out` : `${nodeName}_out${i}`));
    this.nodes.push({
      name: nodeName,
      op_type: opType,
      input: [...inputs],
      output: outputs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outputs;
  }

  /** A one-output node. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, name?: string): string {
    return this.node(opType, inputs, attrs, 1, name)[0];
  }

  /** Gives an existing value a graph-output name by routing it through Identity. */
  rename(value: string, name: string): void {
    this.used.add(name);
    this.nodes.push({ name: this.fresh(`${name}_identity`), op_type: 'Identity', input: [value], output: [name], attribute: [] });
  }

  toModel(opts: { producerVersion?: string; doc?: string; metadata?: Record<string, string> } = {}): ModelMsg {
    return {
      ir_version: IR_VERSION,
      opset_import: [{ domain: '', version: OPSET }],
      producer_name: 'emostream',
      producer_version: opts.producerVersion ?? '0',
      doc_string: opts.doc,
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.inits,
        input: this.inputs,
        output: this.outputs,
      },
      metadata_props: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    };
  }

  encode(opts?: Parameters<GraphBuilder['toModel']>[0]): Uint8Array {
    return encodeModel(this.toModel(opts));
  }
}
