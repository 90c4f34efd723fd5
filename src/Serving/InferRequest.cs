using System.Text.Json;

namespace AllReduceNet.Serving;

/// <summary>A parsed Open Inference Protocol v2 infer request: the input rows, the echoed id, the outputs asked for.</summary>
/// <param name="Id">The request's id, echoed in the response; null when absent.</param>
/// <param name="Input">Rows x the model's input size, row-major.</param>
/// <param name="Rows">Number of rows (the batch).</param>
/// <param name="Outputs">The outputs to return, by name.</param>
internal sealed record InferRequest(string? Id, float[] Input, int Rows, IReadOnlyList<string> Outputs)
{
    /// <summary>The names of the model's output tensors.</summary>
    public static readonly IReadOnlyList<string> OutputNames = ["probabilities", "class"];

    /// <summary>Parses and validates a request against <paramref name="model"/>'s input (its name and size).</summary>
    /// <exception cref="ApiException">400 naming the first thing that is wrong.</exception>
    public static InferRequest Parse(JsonElement root, ServedModel model)
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
        if (!tensor.TryGetProperty("data", out var data)) throw ApiException.BadRequest($"input '{inputName}' has no 'data'.");
        var input = TensorReader.ReadFloats(data, (long)rows * model.InputSize, $"input '{inputName}'");
        return new InferRequest(id, input, rows, ParseOutputs(root));
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

    private static IReadOnlyList<string> ParseOutputs(JsonElement root)
    {
        if (!root.TryGetProperty("outputs", out var outputs) || outputs.ValueKind == JsonValueKind.Null) return OutputNames;
        if (outputs.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest("'outputs' must be an array of {\"name\": ...}.");
        var names = new List<string>();
        foreach (var output in outputs.EnumerateArray())
        {
            string? name = output.ValueKind == JsonValueKind.Object && output.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            if (name is null || !OutputNames.Contains(name))
                throw ApiException.BadRequest($"requested output '{name ?? "(missing)"}' is not one of: {string.Join(", ", OutputNames)}.");
            names.Add(name);
        }
        return names.Count == 0 ? OutputNames : names;
    }
}
