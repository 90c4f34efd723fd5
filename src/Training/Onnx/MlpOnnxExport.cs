using System.Buffers.Binary;
using System.Globalization;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Model;
using static AllReduceNet.Training.Onnx.OnnxSchema;

namespace AllReduceNet.Training.Onnx;

/// <summary>
/// Writes a trained <see cref="Mlp"/> as an ONNX model (opset 13) that answers what Serve.dll answers for the
/// checkpoint: input <c>input</c> FP32 [batch, features] of raw values (the <see cref="Preprocessing"/> is part of the
/// graph, as Mul then Sub, so a client sends what it sends to /predict); one Gemm per dense layer (weights [in, out]
/// exactly as the checkpoint stores them), Relu after every layer but the last; outputs <c>probabilities</c> FP32
/// [batch, classes] (Softmax) and <c>class</c> INT64 [batch] (ArgMax, the first of equal maxima).
/// </summary>
internal static class MlpOnnxExport
{
    /// <summary>The graph's input and outputs.</summary>
    public const string InputName = "input", ProbabilitiesName = "probabilities", ClassName = "class";

    /// <summary>The symbolic batch dimension of the input and outputs.</summary>
    public const string BatchDimension = "batch";

    /// <summary>Writes the model of a checkpoint to <paramref name="path"/> (its directory is created).</summary>
    /// <param name="path">The .onnx file.</param>
    /// <param name="checkpoint">The layer sizes and parameters.</param>
    /// <param name="preprocess">The standardization the model was trained with; it becomes the graph's first nodes.</param>
    /// <exception cref="TrainingException">The file cannot be written.</exception>
    public static void Write(string path, Checkpoint checkpoint, Preprocessing preprocess)
    {
        byte[] model = Encode(checkpoint.LayerSizes, checkpoint.Parameters, preprocess);
        try
        {
            string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
            File.WriteAllBytes(path, model);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TrainingException($"--export-onnx '{path}' cannot be written: {e.Message}");
        }
    }

    /// <summary>The ModelProto bytes of an MLP.</summary>
    /// <param name="sizes">Layer widths from input to output (at least two).</param>
    /// <param name="parameters">The flat parameter vector in <see cref="ParameterLayout"/> order.</param>
    /// <param name="preprocess">Applied to the input inside the graph (nothing is added for the identity).</param>
    /// <exception cref="ArgumentException">The parameter vector does not fit the sizes, or the preprocessing is per sample.</exception>
    public static byte[] Encode(IReadOnlyList<int> sizes, ReadOnlySpan<float> parameters, Preprocessing preprocess)
    {
        if (preprocess.PerSample)
            throw new ArgumentException("a per-sample standardization cannot be put into the graph (only a fixed x * a - b is); export with --export-model instead.", nameof(preprocess));
        var layout = new ParameterLayout(sizes);
        if (parameters.Length != layout.Count)
            throw new ArgumentException($"the parameter vector holds {parameters.Length} floats, but layers {string.Join(",", sizes)} need {layout.Count}.", nameof(parameters));
        var graph = new ProtobufWriter().String(GraphProto.Name, "allreducenet_mlp");
        var nodes = new List<Action<ProtobufWriter>>();
        var initializers = new List<Action<ProtobufWriter>>();

        string x = InputName;
        if (preprocess != Preprocessing.Identity)
        {
            // The same two float operations, with the same folded constants, as Preprocessing.Apply: x * a - b.
            float a = (float)(preprocess.Scale / preprocess.Deviation), b = (float)(preprocess.Mean / preprocess.Deviation);
            initializers.Add(FloatTensor("preprocess.multiplier", [], [a]));
            initializers.Add(FloatTensor("preprocess.offset", [], [b]));
            nodes.Add(Node("Mul", "preprocess_mul", [x, "preprocess.multiplier"], "input_scaled"));
            nodes.Add(Node("Sub", "preprocess_sub", ["input_scaled", "preprocess.offset"], "input_standardized"));
            x = "input_standardized";
        }
        for (int l = 0; l < layout.LayerCount; l++)
        {
            int inputs = sizes[l], outputs = sizes[l + 1];
            var layer = parameters.Slice(layout.LayerOffset(l), layout.LayerLength(l));
            string weight = $"dense{l}.weight", bias = $"dense{l}.bias";
            initializers.Add(FloatTensor(weight, [inputs, outputs], layer[..layout.WeightCount(l)]));
            initializers.Add(FloatTensor(bias, [outputs], layer.Slice(layout.WeightCount(l), outputs)));
            string dense = l == layout.LayerCount - 1 ? "logits" : $"dense{l}";
            nodes.Add(Node("Gemm", $"dense{l}", [x, weight, bias], dense));
            x = dense;
            if (l < layout.LayerCount - 1)
            {
                nodes.Add(Node("Relu", $"relu{l}", [x], $"relu{l}"));
                x = $"relu{l}";
            }
        }
        nodes.Add(Node("Softmax", "softmax", [x], ProbabilitiesName, IntAttribute("axis", 1)));
        nodes.Add(Node("ArgMax", "argmax", [ProbabilitiesName], ClassName, IntAttribute("axis", 1), IntAttribute("keepdims", 0)));

        foreach (var node in nodes) graph.Message(GraphProto.Node, node);
        foreach (var initializer in initializers) graph.Message(GraphProto.Initializer, initializer);
        graph.String(GraphProto.DocString, preprocess == Preprocessing.Identity
            ? "input: the features as the model was trained on them."
            : string.Create(CultureInfo.InvariantCulture,
                $"input: raw values; the graph standardizes them as (x * {preprocess.Scale:R} - {preprocess.Mean:R}) / {preprocess.Deviation:R}, as Serve.dll does with preprocess.json."));
        graph.Message(GraphProto.Input, ValueInfo(InputName, DataType.Float, sizes[0]));
        graph.Message(GraphProto.Output, ValueInfo(ProbabilitiesName, DataType.Float, sizes[^1]));
        graph.Message(GraphProto.Output, ValueInfo(ClassName, DataType.Int64, null));

        string version = typeof(MlpOnnxExport).Assembly.GetName().Version?.ToString(3) ?? "0";
        var model = new ProtobufWriter()
            .Int64(ModelProto.IrVersion, OnnxSchema.IrVersion)
            .String(ModelProto.ProducerName, "AllReduceNet Train.dll")
            .String(ModelProto.ProducerVersion, version)
            .String(ModelProto.DocString, "An MLP trained by AllReduceNet's Train.dll: dense layers with ReLU, softmax head.")
            .Bytes(ModelProto.Graph, graph.ToArray())
            .Message(ModelProto.OpsetImport, o => o.String(OperatorSetIdProto.Domain, "").Int64(OperatorSetIdProto.Version, OpsetVersion));
        Metadata(model, "allreducenet.layers", string.Join(",", sizes));
        Metadata(model, "allreducenet.preprocess", string.Create(CultureInfo.InvariantCulture,
            $"{{\"scale\": {preprocess.Scale:R}, \"mean\": {preprocess.Mean:R}, \"deviation\": {preprocess.Deviation:R}}}"));
        return model.ToArray();
    }

    private static void Metadata(ProtobufWriter model, string key, string value) =>
        model.Message(ModelProto.MetadataProps, e => e.String(StringStringEntryProto.Key, key).String(StringStringEntryProto.Value, value));

    private static Action<ProtobufWriter> Node(string opType, string name, string[] inputs, string output, params Action<ProtobufWriter>[] attributes) => node =>
    {
        foreach (string input in inputs) node.String(NodeProto.Input, input);
        node.String(NodeProto.Output, output).String(NodeProto.Name, name).String(NodeProto.OpType, opType);
        foreach (var attribute in attributes) node.Message(NodeProto.Attribute, attribute);
    };

    private static Action<ProtobufWriter> IntAttribute(string name, long value) => attribute =>
        attribute.String(AttributeProto.Name, name).Int64(AttributeProto.I, value).Int64(AttributeProto.Type, AttributeProto.TypeInt);

    private static Action<ProtobufWriter> FloatTensor(string name, long[] dims, ReadOnlySpan<float> values)
    {
        // raw_data: fixed-width little-endian, as the schema requires whatever the machine's byte order.
        var raw = new byte[values.Length * sizeof(float)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * sizeof(float)), values[i]);
        return tensor =>
        {
            if (dims.Length > 0) tensor.PackedInt64(TensorProto.Dims, dims);
            tensor.Int64(TensorProto.DataType, DataType.Float).String(TensorProto.Name, name).Bytes(TensorProto.RawData, raw);
        };
    }

    /// <summary>A tensor's name and type: [batch] or [batch, columns] of the element type.</summary>
    private static Action<ProtobufWriter> ValueInfo(string name, long elementType, int? columns) => info => info
        .String(ValueInfoProto.Name, name)
        .Message(ValueInfoProto.Type, type => type.Message(TypeProto.TensorType, tensor => tensor
            .Int64(TypeProtoTensor.ElemType, elementType)
            .Message(TypeProtoTensor.Shape, shape =>
            {
                shape.Message(TensorShapeProto.Dim, dim => dim.String(TensorShapeDimension.DimParam, BatchDimension));
                if (columns is int c) shape.Message(TensorShapeProto.Dim, dim => dim.Int64(TensorShapeDimension.DimValue, c));
            })));
}
