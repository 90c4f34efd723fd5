namespace AllReduceNet.Lifecycle;

/// <summary>A refused request: answered with <see cref="StatusCode"/> and <c>{"error": message}</c>.</summary>
internal sealed class HttpProblem(int statusCode, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;
}
