namespace AllReduceNet.Serving;

/// <summary>A request the server refuses: answered with <see cref="StatusCode"/> and <c>{"error": Message}</c>.</summary>
public sealed class ApiException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="statusCode">The 4xx (or 503) status to answer with.</param>
    /// <param name="message">What was wrong with the request.</param>
    /// <param name="retryAfterSeconds">Sent as a Retry-After header when not null.</param>
    public ApiException(int statusCode, string message, int? retryAfterSeconds = null) : base(message)
    {
        StatusCode = statusCode;
        RetryAfterSeconds = retryAfterSeconds;
    }

    /// <summary>The HTTP status of the answer.</summary>
    public int StatusCode { get; }

    /// <summary>Seconds the client should wait before retrying (the Retry-After header), or null for none.</summary>
    public int? RetryAfterSeconds { get; }

    /// <summary>503 with a message and a Retry-After of one second: the server is busy or stopping, not broken.</summary>
    /// <param name="message">Why the request was not taken.</param>
    /// <returns>The exception.</returns>
    public static ApiException Unavailable(string message) => new(StatusCodes.Status503ServiceUnavailable, message, retryAfterSeconds: 1);

    /// <summary>400 with a message.</summary>
    /// <param name="message">What was wrong.</param>
    /// <returns>The exception.</returns>
    public static ApiException BadRequest(string message) => new(StatusCodes.Status400BadRequest, message);

    /// <summary>404 with a message.</summary>
    /// <param name="message">What was not found.</param>
    /// <returns>The exception.</returns>
    public static ApiException NotFound(string message) => new(StatusCodes.Status404NotFound, message);
}
