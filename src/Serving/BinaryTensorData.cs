using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace AllReduceNet.Serving;

/// <summary>
/// The binary tensor data extension of the Open Inference Protocol (KServe, Triton): an infer body may be a JSON
/// header of <see cref="HeaderLengthHeader"/> bytes followed by raw tensor bytes, little-endian, row-major, without
/// padding. An input carrying the parameter <see cref="SizeParameter"/> takes its values from those bytes, in the
/// order of the inputs, instead of from 'data'; outputs asked for with the parameter "binary_data" (or every output,
/// with the request parameter "binary_data_output") come back the same way. It spares both sides the JSON number text,
/// which costs the server more than the forward pass of a small model.
/// </summary>
internal static class BinaryTensorData
{
    /// <summary>The HTTP header giving the length in bytes of the JSON part of a body with binary tensor data.</summary>
    public const string HeaderLengthHeader = "Inference-Header-Content-Length";

    /// <summary>The tensor parameter giving the size in bytes of a tensor's binary data.</summary>
    public const string SizeParameter = "binary_data_size";

    /// <summary>The name of the extension in the server metadata.</summary>
    public const string ExtensionName = "binary_tensor_data";

    /// <summary>The Content-Type of a body with binary tensor data.</summary>
    public const string ContentType = "application/octet-stream";

    /// <summary>Reads an infer request: plain JSON, or, with <see cref="HeaderLengthHeader"/>, a JSON header and the binary data after it.</summary>
    /// <exception cref="ApiException">415 (a plain body that is not application/json), 413, or 400 (a bad header length, malformed JSON).</exception>
    public static async Task<(JsonDocument Json, ReadOnlyMemory<byte> Binary)> ReadRequestAsync(HttpRequest request, long maxBytes, CancellationToken cancellation)
    {
        string? header = request.Headers[HeaderLengthHeader];
        if (header is null) return (await JsonBody.ReadAsync(request, maxBytes, cancellation), ReadOnlyMemory<byte>.Empty);
        if (!long.TryParse(header, NumberStyles.None, CultureInfo.InvariantCulture, out long jsonLength) || jsonLength == 0)
            throw ApiException.BadRequest($"header {HeaderLengthHeader} is '{header}', but must be the positive length in bytes of the JSON part of the body.");
        if (request.ContentType is { } type && !request.HasJsonContentType()
            && !type.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
            throw new ApiException(StatusCodes.Status415UnsupportedMediaType,
                $"the request's Content-Type is '{type}', but a body with {HeaderLengthHeader} must be {ContentType} (or application/json).");
        var body = await JsonBody.ReadBytesAsync(request, maxBytes, cancellation);
        if (jsonLength > body.Length)
            throw ApiException.BadRequest($"header {HeaderLengthHeader} is {jsonLength}, but the body holds only {body.Length} bytes.");
        return (JsonBody.Parse(body[..(int)jsonLength]), body[(int)jsonLength..]);
    }

    /// <summary>The tensor's <see cref="SizeParameter"/>, or null when it has none (its values are JSON 'data').</summary>
    /// <exception cref="ApiException">400: the parameter is not a non-negative integer.</exception>
    public static long? Size(JsonElement tensor, string what)
    {
        if (!tensor.TryGetProperty("parameters", out var parameters) || parameters.ValueKind != JsonValueKind.Object
            || !parameters.TryGetProperty(SizeParameter, out var size) || size.ValueKind == JsonValueKind.Null)
            return null;
        if (size.ValueKind != JsonValueKind.Number || !size.TryGetInt64(out long bytes) || bytes < 0)
            throw ApiException.BadRequest($"{what}: parameter '{SizeParameter}' must be a non-negative integer, not {size.GetRawText()}.");
        return bytes;
    }

    /// <summary>Reads <paramref name="count"/> little-endian FP32 values, each a finite float.</summary>
    /// <exception cref="ApiException">400: the wrong number of bytes for the shape, or a value that is not finite.</exception>
    public static float[] ReadFloats(ReadOnlySpan<byte> bytes, long count, string what)
    {
        if (bytes.Length != count * sizeof(float))
            throw ApiException.BadRequest($"{what}: binary data holds {bytes.Length} bytes, but the shape needs {count} FP32 values ({count * sizeof(float)} bytes).");
        var values = new float[count];
        if (BitConverter.IsLittleEndian) bytes.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
        else for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * sizeof(float))..]);
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i]))
                throw ApiException.BadRequest($"{what}: element {i} of the binary data is {values[i].ToString(CultureInfo.InvariantCulture)}, but must be a finite float.");
        return values;
    }

    /// <summary>The little-endian bytes of <paramref name="values"/>.</summary>
    public static byte[] Bytes<T>(T[] values) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        if (!BitConverter.IsLittleEndian)
            for (int i = 0, size = bytes.Length / Math.Max(values.Length, 1); i < bytes.Length; i += size) bytes.AsSpan(i, size).Reverse();
        return bytes;
    }

    /// <summary>Answers with the JSON header <paramref name="header"/> followed by <paramref name="binary"/>, as the extension's responses are.</summary>
    public static IResult Response(HttpContext context, object header, IEnumerable<byte[]> binary)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        using var body = new MemoryStream();
        body.Write(json);
        foreach (var part in binary) body.Write(part);
        context.Response.Headers[HeaderLengthHeader] = json.Length.ToString(CultureInfo.InvariantCulture);
        return Results.Bytes(body.ToArray(), ContentType);
    }
}
