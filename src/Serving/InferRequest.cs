using System.Text.Json;

namespace AllReduceNet.Serving;

/// <summary>A parsed Open Inference Protocol v2 infer request: the input rows, the echoed id, the outputs asked for.</summary>
/// <param name="Id">The request's id, echoed in the response; null when absent.</param>
/// <param name="Input">Rows x the model's input size, row-major.</param>
/// <param name="Rows">Number of rows (the batch).</param>
/// <param name="Outputs">The outputs to return, by name.</param>
internal sealed record InferRequest(string? Id, float[] Input, int Rows, IReadOnlyList<string> Outputs)
{
    /// <summary>The outputs to return as binary tensor data (<see cref="BinaryTensorData"/>); empty: all as JSON.</summary>
    public IReadOnlySet<string> BinaryOutputs { get; init; } = new HashSet<string>();

    /// <summary>The names of the model's output tensors.</summary>
    public static readonly IReadOnlyList<string> OutputNames = ["probabilities", "class"];

    /// <summary>Parses and validates a request against <paramref name="model"/>'s input (its name and size).</summary>
    /// <param name="root">The request's JSON (the JSON header, with binary tensor data).</param>
    /// <param name="model">The model version that will answer.</param>
    /// <param name="binary">The body's bytes after the JSON header (<see cref="BinaryTensorData"/>); empty for plain JSON.</param>
    /// <exception cref="ApiException">400 naming the first thing that is wrong.</exception>
    public static InferRequest Parse(JsonElement root, ServedModel model, ReadOnlyMemory<byte> binary = default)
    {
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"the request must be a JSON object, not {TensorReader.Describe(root)}.");
        string? id = null;
        if (root.TryGetProperty("id", out var idElement) && idElement.ValueKind != JsonValueKind.Null)
            id = idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : throw ApiException.BadRequest("'id' must be a string.");
        string inputName = model.Input.Name;
        if (!root.TryGetProperty("inputs", out var inputs) || inputs.ValueKind != JsonValueKind.Array)
            throw ApiException.BadRequest("the request needs 'inputs', an array of tensors.");
        if (inputs.GetArrayLength() != 1)
            throw ApiException.BadRequest($"'inputs' holds {inputs.GetArrayLength()} tensors, but the model takes exactly one, named '{inputName}'.");
        var tensor = inputs[0];
        if (tensor.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("'inputs[0]' must be an object.");
        string? name = tensor.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
        if (name != inputName) throw ApiException.BadRequest($"input name is '{name ?? "(missing)"}', but the model's input is named '{inputName}'.");
        string? datatype = tensor.TryGetProperty("datatype", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
        if (datatype != "FP32") throw ApiException.BadRequest($"input '{inputName}' has datatype '{datatype ?? "(missing)"}', but must be 'FP32'.");
        int rows = ParseShape(tensor, inputName, model.InputSize);
        long count = (long)rows * model.InputSize;
        float[] input;
        if (BinaryTensorData.Size(tensor, $"input '{inputName}'") is { } size)
        {
            if (tensor.TryGetProperty("data", out _))
                throw ApiException.BadRequest($"input '{inputName}' has both '{BinaryTensorData.SizeParameter}' and 'data'; send its values one way.");
            // The model's one input is the only binary tensor, so its bytes are all that follows the JSON header.
            if (size != binary.Length)
                throw ApiException.BadRequest($"input '{inputName}' announces {size} bytes of binary data ('{BinaryTensorData.SizeParameter}'), but {binary.Length} follow the JSON header ({BinaryTensorData.HeaderLengthHeader}).");
            input = BinaryTensorData.ReadFloats(binary.Span, count, $"input '{inputName}'");
        }
        else
        {
            if (!binary.IsEmpty)
                throw ApiException.BadRequest($"{binary.Length} bytes follow the JSON header, but input '{inputName}' has no '{BinaryTensorData.SizeParameter}' parameter.");
            if (!tensor.TryGetProperty("data", out var data)) throw ApiException.BadRequest($"input '{inputName}' has no 'data'.");
            input = TensorReader.ReadFloats(data, count, $"input '{inputName}'");
        }
        var (outputs, binaryOutputs) = ParseOutputs(root);
        return new InferRequest(id, input, rows, outputs) { BinaryOutputs = binaryOutputs };
    }

    private static int ParseShape(JsonElement tensor, string inputName, int inputSize)
    {
        if (!tensor.TryGetProperty("shape", out var shape) || shape.ValueKind != JsonValueKind.Array || shape.GetArrayLength() != 2
            || shape.EnumerateArray().Any(s => s.ValueKind != JsonValueKind.Number || !s.TryGetInt64(out _)))
            throw ApiException.BadRequest($"input '{inputName}' needs 'shape' [N, {inputSize}] of two integers.");
        long rows = shape[0].GetInt64(), columns = shape[1].GetInt64();
        if (columns != inputSize) throw ApiException.BadRequest($"input '{inputName}' has shape [{rows}, {columns}], but the model needs [N, {inputSize}].");
        if (rows == 0) throw ApiException.BadRequest($"input '{inputName}' is an empty batch (shape [0, {inputSize}]); send at least one row.");
        if (rows < 0 || rows > int.MaxValue / inputSize) throw ApiException.BadRequest($"input '{inputName}' has an impossible batch size {rows}.");
        return (int)rows;
    }

    /// <summary>The outputs asked for, and those of them to return as binary data: each output's "binary_data"
    /// parameter, else the request's "binary_data_output", else JSON.</summary>
    private static (IReadOnlyList<string> Names, IReadOnlySet<string> Binary) ParseOutputs(JsonElement root)
    {
        bool allBinary = Flag(root, "binary_data_output", "the request") ?? false;
        if (!root.TryGetProperty("outputs", out var outputs) || outputs.ValueKind == JsonValueKind.Null)
            return (OutputNames, allBinary ? OutputNames.ToHashSet() : new HashSet<string>());
        if (outputs.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest("'outputs' must be an array of {\"name\": ...}.");
        var names = new List<string>();
        var binary = new HashSet<string>();
        foreach (var output in outputs.EnumerateArray())
        {
            string? name = output.ValueKind == JsonValueKind.Object && output.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            if (name is null || !OutputNames.Contains(name))
                throw ApiException.BadRequest($"requested output '{name ?? "(missing)"}' is not one of: {string.Join(", ", OutputNames)}.");
            names.Add(name);
            if (Flag(output, "binary_data", $"output '{name}'") ?? allBinary) binary.Add(name);
        }
        return names.Count == 0 ? (OutputNames, allBinary ? OutputNames.ToHashSet() : binary) : (names, binary);
    }

    /// <summary>A boolean in the "parameters" object of <paramref name="element"/>; null when absent.</summary>
    private static bool? Flag(JsonElement element, string parameter, string what)
    {
        if (!element.TryGetProperty("parameters", out var parameters) || parameters.ValueKind == JsonValueKind.Null) return null;
        if (parameters.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"{what}: 'parameters' must be an object.");
        if (!parameters.TryGetProperty(parameter, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw ApiException.BadRequest($"{what}: parameter '{parameter}' must be true or false, not {value.GetRawText()}."),
        };
    }
}
