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
        string? sent = ApiKeys.Sent(context.Request);
        if (sent is null || !ApiKeys.Matches(sent, expected))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            throw new ApiException(StatusCodes.Status401Unauthorized, sent is null
                ? "repository management needs the API key, sent as 'Authorization: Bearer KEY' or 'X-Api-Key: KEY'."
                : "the API key is wrong.");
        }
        return next(invocation);
    }
}
