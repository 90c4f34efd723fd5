namespace AllReduceNet.Serving.Drift;

/// <summary>One answered inference request as the drift monitor keeps it: its rows as sent (the request's own array,
/// never modified after the answer), the classes predicted for them, and the true labels once feedback brings them.</summary>
internal sealed class RecordedRequest(string id, string? protocolId, float[] input, int rows, long[] classes)
{
    /// <summary>The X-Request-Id the answer carried.</summary>
    public string Id { get; } = id;

    /// <summary>The Open Inference Protocol <c>id</c> of the request body, when it had one.</summary>
    public string? ProtocolId { get; } = protocolId;

    public float[] Input { get; } = input;
    public int Rows { get; } = rows;
    public long[] Classes { get; } = classes;

    /// <summary>The true labels, one per row, once feedback arrived; null until then.</summary>
    public int[]? Labels { get; set; }
}
