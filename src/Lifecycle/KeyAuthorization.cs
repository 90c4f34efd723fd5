using AllReduceNet.Serving;

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
            string? sent = ApiKeys.Sent(request);
            if (sent is null || !ApiKeys.Matches(sent, expected))
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
}
