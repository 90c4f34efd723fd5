using System.Security.Cryptography;
using System.Text;

namespace AllReduceNet.Serving;

/// <summary>
/// Guards the repository management endpoints with the API key of <see cref="ServingOptions.ApiKey"/>, sent as
/// <c>Authorization: Bearer KEY</c> or <c>X-Api-Key: KEY</c>. Without a configured key they are closed (403), never open.
/// </summary>
internal static class ManagementAuthorization
{
    /// <summary>The endpoint filter: 403 when no key is configured, 401 when the request's key is missing or wrong.</summary>
    public static ValueTask<object?> Require(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        string? expected = context.RequestServices.GetRequiredService<ServingOptions>().ApiKey;
        if (expected is null)
            throw new ApiException(StatusCodes.Status403Forbidden,
                $"repository management is disabled: start the server with --api-key KEY or the environment variable {ServingOptions.ApiKeyVariable}, "
                + "then send the key as 'Authorization: Bearer KEY' or 'X-Api-Key: KEY'.");
        string? sent = SentKey(context.Request);
        if (sent is null || !Matches(sent, expected))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            throw new ApiException(StatusCodes.Status401Unauthorized, sent is null
                ? "repository management needs the API key, sent as 'Authorization: Bearer KEY' or 'X-Api-Key: KEY'."
                : "the API key is wrong.");
        }
        return next(invocation);
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
