using System.Security.Cryptography;
using System.Text;

namespace AllReduceNet.Lifecycle;

/// <summary>
/// Guards management endpoints with an API key sent as <c>Authorization: Bearer KEY</c> or <c>X-Api-Key: KEY</c>, as
/// Serve.dll guards its repository API: 403 when no key is configured (closed, never open), 401 when missing or wrong.
/// </summary>
internal static class KeyAuthorization
{
    public static Func<EndpointFilterInvocationContext, EndpointFilterDelegate, ValueTask<object?>> Require(string? expected, string startOption) =>
        (invocation, next) =>
        {
            var request = invocation.HttpContext.Request;
            if (expected is null)
                throw new HttpProblem(StatusCodes.Status403Forbidden, $"management is disabled: start the service with {startOption} KEY, then send it as 'Authorization: Bearer KEY' or 'X-Api-Key: KEY'.");
            string? sent = SentKey(request);
            if (sent is null || !Matches(sent, expected))
            {
                invocation.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
                throw new HttpProblem(StatusCodes.Status401Unauthorized, sent is null
                    ? "this endpoint needs the API key, sent as 'Authorization: Bearer KEY' or 'X-Api-Key: KEY'."
                    : "the API key is wrong.");
            }
            return next(invocation);
        };

    /// <summary>Adds the key to an outgoing request when there is one.</summary>
    public static void Attach(HttpRequestMessage request, string? key)
    {
        if (key is not null) request.Headers.TryAddWithoutValidation("X-Api-Key", key);
    }

    private static string? SentKey(HttpRequest request)
    {
        string? authorization = request.Headers.Authorization;
        if (authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return authorization[7..].Trim();
        string? header = request.Headers["X-Api-Key"];
        return string.IsNullOrEmpty(header) ? null : header;
    }

    // Compared as hashes in constant time, so neither the key's length nor its prefix leaks through timing.
    private static bool Matches(string sent, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(sent)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}
