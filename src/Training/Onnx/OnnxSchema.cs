namespace AllReduceNet.Training.Onnx;

/// <summary>
/// The field numbers and enum values of onnx.proto3 that <see cref="MlpOnnxExport"/> writes, named as in the
/// schema (onnx/onnx.proto3: ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto,
/// TypeProto, TensorShapeProto, OperatorSetIdProto, StringStringEntryProto).
/// </summary>
internal static class OnnxSchema
{
    /// <summary>IR version 7 (2020-05-08), the one that goes with opset 13.</summary>
    public const long IrVersion = 7;

    /// <summary>The default-domain operator set: Gemm, Relu, Softmax (axis semantics of 13), ArgMax, Mul, Sub.</summary>
    public const long OpsetVersion = 13;

    public static class ModelProto
    {
        public const int IrVersion = 1, ProducerName = 2, ProducerVersion = 3, Domain = 4, ModelVersion = 5, DocString = 6,
            Graph = 7, OpsetImport = 8, MetadataProps = 14;
    }

    public static class OperatorSetIdProto { public const int Domain = 1, Version = 2; }

    public static class StringStringEntryProto { public const int Key = 1, Value = 2; }

    public static class GraphProto { public const int Node = 1, Name = 2, Initializer = 5, DocString = 10, Input = 11, Output = 12; }

    public static class NodeProto { public const int Input = 1, Output = 2, Name = 3, OpType = 4, Attribute = 5; }

    public static class AttributeProto
    {
        public const int Name = 1, F = 2, I = 3, Type = 20;
        public const long TypeFloat = 1, TypeInt = 2;
    }

    public static class TensorProto { public const int Dims = 1, DataType = 2, Name = 8, RawData = 9; }

    /// <summary>TensorProto.DataType values.</summary>
    public static class DataType { public const long Float = 1, Int64 = 7; }

    public static class ValueInfoProto { public const int Name = 1, Type = 2; }

    public static class TypeProto { public const int TensorType = 1; }

    public static class TypeProtoTensor { public const int ElemType = 1, Shape = 2; }

    public static class TensorShapeProto { public const int Dim = 1; }

    public static class TensorShapeDimension { public const int DimValue = 1, DimParam = 2; }
}
