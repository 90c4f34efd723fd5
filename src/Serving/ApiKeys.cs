using System.Security.Cryptography;
using System.Text;

namespace AllReduceNet.Serving;

/// <summary>
/// The API key as every service of the project takes it: <c>Authorization: Bearer KEY</c> or <c>X-Api-Key: KEY</c>,
/// compared in constant time. Serve.dll compiles this file and so does Lifecycle.dll (linked), so the two services
/// cannot drift apart on how a key is read or checked.
/// </summary>
internal static class ApiKeys
{
    /// <summary>The key the request carries, or null.</summary>
    public static string? Sent(HttpRequest request)
    {
        string? authorization = request.Headers.Authorization;
        if (authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return authorization[7..].Trim();
        string? header = request.Headers["X-Api-Key"];
        return string.IsNullOrEmpty(header) ? null : header;
    }

    // Compared as hashes in constant time, so neither the key's length nor its prefix leaks through timing.
    public static bool Matches(string sent, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(sent)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}
