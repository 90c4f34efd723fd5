namespace AllReduceNet.Serving;

/// <summary><c>Serve --health-check URL</c>: asks a running server whether it is ready and exits 0 (HTTP 2xx) or 1
/// (any other answer, no answer, or no answer in time). It exists for a container's HEALTHCHECK: the runtime image
/// has no curl or wget, and the server's own executable needs nothing more.</summary>
public static class HealthCheckCommand
{
    /// <summary>The command-line switch that selects this mode; the URL follows it.</summary>
    public const string Switch = "--health-check";

    /// <summary>How long the check waits for the whole answer before it reports the server unhealthy.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Whether the arguments ask for a health check rather than a server.</summary>
    /// <param name="args">The command-line arguments.</param>
    /// <returns>True when the first argument is <see cref="Switch"/>.</returns>
    public static bool IsRequested(string[] args) => args.Length > 0 && args[0] == Switch;

    /// <summary>Runs the check and writes one line saying what it found (stdout when healthy, stderr when not).</summary>
    /// <param name="args">The command-line arguments: <c>--health-check URL</c>, nothing else.</param>
    /// <param name="timeout">The deadline of the request; <see cref="DefaultTimeout"/> when null.</param>
    /// <returns>0 when the server answered with a 2xx status, 1 when it did not, 2 when the arguments are wrong.</returns>
    public static async Task<int> RunAsync(string[] args, TimeSpan? timeout = null)
    {
        if (args.Length != 2 || !Uri.TryCreate(args[1], UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            Console.Error.WriteLine($"Serve: {Switch} takes exactly one absolute http(s) URL, e.g. {Switch} http://127.0.0.1:8000/v2/health/ready; got: {string.Join(' ', args)}");
            return 2;
        }
        using var client = new HttpClient { Timeout = timeout ?? DefaultTimeout };
        try
        {
            using var response = await client.GetAsync(url);
            if (response.IsSuccessStatusCode)
            {
                Console.WriteLine($"Serve: {url} is healthy ({(int)response.StatusCode})");
                return 0;
            }
            Console.Error.WriteLine($"Serve: {url} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            return 1;
        }
        catch (HttpRequestException e)
        {
            Console.Error.WriteLine($"Serve: {url} did not answer: {e.Message}");
            return 1;
        }
        catch (TaskCanceledException)
        {
            Console.Error.WriteLine($"Serve: {url} did not answer within {client.Timeout.TotalSeconds:0.#} s");
            return 1;
        }
    }
}
