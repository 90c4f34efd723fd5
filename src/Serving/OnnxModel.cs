using System.Runtime.InteropServices;
using System.Numerics.Tensors;
using AllReduceNet.Training.Checkpoints;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace AllReduceNet.Serving;

/// <summary>
/// An ONNX model (model.onnx) served through ONNX Runtime, whoever trained it (Train.dll --export-onnx, PyTorch's
/// torch.onnx.export, ...). What the server assumes, checked when the model loads: exactly one input, a float tensor
/// [batch, features] with a variable batch dimension; a first output that is a float tensor [batch, classes]. That
/// first output is taken as the scores of the classes: a row that is already a probability distribution (every value
/// in [0, 1], summing to 1 within <see cref="DistributionTolerance"/>) is reported as it is, any other row is taken as
/// logits and goes through a softmax; the class is the first of the maxima. Further outputs are computed by nobody:
/// only the first is asked of the session. InferenceSession.Run is thread-safe, but the version's
/// <see cref="InferenceQueue"/> is still the only caller, so batches are formed as for a checkpoint.
/// </summary>
internal sealed class OnnxModel : ServedModel
{
    /// <summary>The platform name reported in model metadata (Triton's name for ONNX Runtime).</summary>
    public const string PlatformName = "onnxruntime_onnx";

    /// <summary>How far from 1 a row's sum may be for the row to count as probabilities already.</summary>
    public const float DistributionTolerance = 1e-4f;

    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _inputNames, _outputNames;

    /// <summary>Opens <paramref name="path"/> with ONNX Runtime and checks that the server can run it.</summary>
    /// <exception cref="ModelFileException">ONNX Runtime cannot load the file, or its input or first output is not the shape described above.</exception>
    public OnnxModel(string name, string version, string path, Preprocessing? preprocess = null)
        : base(name, version, preprocess)
    {
        try { _session = new InferenceSession(path); }
        catch (OnnxRuntimeException e)
        {
            _runOptions.Dispose();
            throw new ModelFileException(path, $"ONNX Runtime cannot load it ({e.Message.Trim()})");
        }
        try
        {
            if (_session.InputMetadata.Count != 1)
                throw new ModelFileException(path, $"it has {_session.InputMetadata.Count} inputs ({string.Join(", ", _session.InputMetadata.Keys)}), but the server feeds exactly one, [batch, features] FP32");
            var (inputName, input) = _session.InputMetadata.First();
            InputSize = CheckMatrix(path, "input", inputName, input);
            if (_session.OutputMetadata.Count == 0) throw new ModelFileException(path, "it has no outputs");
            var (scoresName, scores) = _session.OutputMetadata.First();
            Classes = CheckMatrix(path, "first output", scoresName, scores);
            Input = new ModelTensor(inputName, "FP32", [-1, InputSize]);
            ModelOutputs = _session.OutputMetadata.Select(o => Describe(o.Key, o.Value)).ToArray();
            _inputNames = [inputName];
            _outputNames = [scoresName];
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public override int InputSize { get; }
    public override int Classes { get; }
    public override ModelTensor Input { get; }
    public override string Platform => PlatformName;

    /// <summary>Every output of the ONNX graph as the session describes it; the first is the one served as scores.</summary>
    public IReadOnlyList<ModelTensor> ModelOutputs { get; }

    /// <summary>The graph's producer as the file names it (e.g. "pytorch", "AllReduceNet Train.dll").</summary>
    public string Producer => _session.ModelMetadata.ProducerName;

    /// <summary>Checks a float tensor [variable batch, fixed width]; returns the width.</summary>
    private static int CheckMatrix(string path, string role, string name, NodeMetadata tensor)
    {
        string shape = tensor.IsTensor ? $"[{string.Join(", ", tensor.Dimensions)}]" : "";
        if (!tensor.IsTensor || tensor.ElementDataType != TensorElementType.Float)
            throw new ModelFileException(path, $"its {role} '{name}' is {(tensor.IsTensor ? Datatype(tensor.ElementDataType) + " " + shape : tensor.OnnxValueType.ToString())}, but the server needs an FP32 tensor [batch, n]");
        if (tensor.Dimensions.Length != 2 || tensor.Dimensions[1] <= 0)
            throw new ModelFileException(path, $"its {role} '{name}' has shape {shape}, but the server needs [batch, n] with a fixed n");
        if (tensor.Dimensions[0] > 0)
            throw new ModelFileException(path, $"its {role} '{name}' has a fixed batch dimension, shape {shape}; export it with a variable one (torch.onnx.export(..., dynamic_axes={{'{name}': {{0: 'batch'}}}}))");
        return tensor.Dimensions[1];
    }

    private static ModelTensor Describe(string name, NodeMetadata tensor) => tensor.IsTensor
        ? new ModelTensor(name, Datatype(tensor.ElementDataType), tensor.Dimensions.Select(d => d > 0 ? (long)d : -1).ToArray())
        : new ModelTensor(name, tensor.OnnxValueType.ToString().ToUpperInvariant(), []);

    /// <summary>The Open Inference Protocol's name of an element type.</summary>
    private static string Datatype(TensorElementType type) => type switch
    {
        TensorElementType.Float => "FP32",
        TensorElementType.Double => "FP64",
        TensorElementType.Float16 => "FP16",
        TensorElementType.BFloat16 => "BF16",
        TensorElementType.Int8 => "INT8",
        TensorElementType.Int16 => "INT16",
        TensorElementType.Int32 => "INT32",
        TensorElementType.Int64 => "INT64",
        TensorElementType.UInt8 => "UINT8",
        TensorElementType.UInt16 => "UINT16",
        TensorElementType.UInt32 => "UINT32",
        TensorElementType.UInt64 => "UINT64",
        TensorElementType.Bool => "BOOL",
        TensorElementType.String => "BYTES",
        _ => type.ToString().ToUpperInvariant(),
    };

    protected override void Forward(ReadOnlyMemory<float> input, int rows, Span<float> probabilities)
    {
        // ONNX Runtime reads the rows where they are (pinned for the call); it never writes an input.
        using var tensor = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, MemoryMarshal.AsMemory(input), [rows, InputSize]);
        using var outputs = _session.Run(_runOptions, _inputNames, [tensor], _outputNames);
        var scores = outputs[0];
        long[] shape = scores.GetTensorTypeAndShape().Shape;
        if (shape.Length != 2 || shape[0] != rows || shape[1] != Classes)
            throw new InvalidOperationException($"model '{Name}' version {Version}: output '{_outputNames[0]}' came back with shape [{string.Join(", ", shape)}] for {rows} rows, not [{rows}, {Classes}].");
        var values = scores.GetTensorDataAsSpan<float>();
        for (int r = 0; r < rows; r++)
        {
            var row = values.Slice(r * Classes, Classes);
            var destination = probabilities.Slice(r * Classes, Classes);
            if (IsDistribution(row)) row.CopyTo(destination);
            else Softmax(row, destination);
        }
    }

    private static bool IsDistribution(ReadOnlySpan<float> row)
    {
        foreach (float p in row) if (!(p >= 0f && p <= 1f)) return false;
        return MathF.Abs(TensorPrimitives.Sum(row) - 1f) <= DistributionTolerance;
    }

    /// <summary>The stable softmax: the row's maximum subtracted first, so no exponential overflows.</summary>
    private static void Softmax(ReadOnlySpan<float> logits, Span<float> probabilities)
    {
        float max = TensorPrimitives.Max(logits);
        TensorPrimitives.Subtract(logits, max, probabilities);
        TensorPrimitives.Exp(probabilities, probabilities);
        TensorPrimitives.Multiply(probabilities, 1f / TensorPrimitives.Sum(probabilities), probabilities);
    }

    public override void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }
}
