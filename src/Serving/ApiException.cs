namespace AllReduceNet.Serving;

/// <summary>A request the server refuses: answered with <see cref="StatusCode"/> and <c>{"error": Message}</c>.</summary>
public sealed class ApiException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="statusCode">The 4xx status to answer with.</param>
    /// <param name="message">What was wrong with the request.</param>
    public ApiException(int statusCode, string message) : base(message) => StatusCode = statusCode;

    /// <summary>The HTTP status of the answer.</summary>
    public int StatusCode { get; }

    /// <summary>400 with a message.</summary>
    /// <param name="message">What was wrong.</param>
    /// <returns>The exception.</returns>
    public static ApiException BadRequest(string message) => new(StatusCodes.Status400BadRequest, message);

    /// <summary>404 with a message.</summary>
    /// <param name="message">What was not found.</param>
    /// <returns>The exception.</returns>
    public static ApiException NotFound(string message) => new(StatusCodes.Status404NotFound, message);
}
