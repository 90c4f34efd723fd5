using System.Text.Json;

namespace AllReduceNet.Serving;

/// <summary>Reads a request body as JSON, refusing what is not JSON, too large, or malformed with a 4xx.</summary>
internal static class JsonBody
{
    /// <summary>Reads and parses the body of <paramref name="request"/>.</summary>
    /// <exception cref="ApiException">415 (not application/json), 413 (over <paramref name="maxBytes"/>), 400 (malformed or empty).</exception>
    public static async Task<JsonDocument> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancellation)
    {
        if (!request.HasJsonContentType())
            throw new ApiException(StatusCodes.Status415UnsupportedMediaType,
                $"the request's Content-Type is '{request.ContentType ?? "(none)"}', but must be application/json.");
        var body = await ReadBytesAsync(request, maxBytes, cancellation);
        return Parse(body);
    }

    /// <summary>Reads the whole body, whatever its type.</summary>
    /// <exception cref="ApiException">413 (over <paramref name="maxBytes"/>).</exception>
    public static async Task<ReadOnlyMemory<byte>> ReadBytesAsync(HttpRequest request, long maxBytes, CancellationToken cancellation)
    {
        if (request.ContentLength > maxBytes) throw TooLarge(maxBytes);
        // The length header may be absent (chunked) or wrong, so the limit is enforced on the bytes actually read.
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellation)) > 0)
        {
            if (buffer.Length + read > maxBytes) throw TooLarge(maxBytes);
            buffer.Write(chunk, 0, read);
        }
        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    /// <summary>Parses <paramref name="json"/> as a JSON document.</summary>
    /// <exception cref="ApiException">400 (malformed or empty).</exception>
    public static JsonDocument Parse(ReadOnlyMemory<byte> json)
    {
        if (json.Length == 0) throw ApiException.BadRequest("the request body is empty; expected a JSON object.");
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"malformed JSON: {e.Message}");
        }
    }

    private static ApiException TooLarge(long maxBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, $"the request body is larger than the limit of {maxBytes} bytes (--max-body-bytes).");
}
