using System.Diagnostics;
using System.Text.Json;

namespace AllReduceNet.Serving.Tests;

/// <summary>
/// The real server process, seen from outside: an Open Inference Protocol client written from the protocol's public
/// description (clients/python/oip_client.py, not from this code) must pass its checks against it, and the process's
/// standard output must be JSON lines carrying the request id a client sent.
/// </summary>
public sealed class ProtocolClientTests : IDisposable
{
    private readonly string _repository = Path.Combine(Path.GetTempPath(), "arn-oip-" + Guid.NewGuid().ToString("N"));

    public ProtocolClientTests()
    {
        ServerFixture.WriteCheckpoint(_repository, "fashion", 1, seed: 1);
        ServerFixture.WriteCheckpoint(_repository, "fashion", 2, seed: 2);
    }

    public void Dispose() => Directory.Delete(_repository, recursive: true);

    [Fact]
    public async Task A_client_written_from_the_protocol_description_passes_its_checks()
    {
        await using var server = await ServeProcess.StartAsync(_repository, "--version-policy", "all");
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in new[] { RepositoryRoot.File("clients", "python", "oip_client.py"), "--url", $"http://127.0.0.1:{server.Port}", "--model", "fashion" })
            start.ArgumentList.Add(arg);
        using var client = Process.Start(start)!;
        var output = client.StandardOutput.ReadToEndAsync();
        var errors = client.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await client.WaitForExitAsync(timeout.Token);
        Assert.True(client.ExitCode == 0, $"oip_client.py exited {client.ExitCode}:\n{await output}\n{await errors}\nserver:\n{server.Output}");
        Assert.Contains("protocol checks passed: model fashion, versions ['1', '2']", await output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_process_logs_json_lines_with_the_clients_request_id()
    {
        await using var server = await ServeProcess.StartAsync(_repository, "--log-requests", "true");
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/predict"))
        {
            request.Headers.Add("X-Request-Id", "from-the-client-42");
            request.Content = new StringContent(RequestBodies.Predict(RequestBodies.Images(1, 9), 1), System.Text.Encoding.UTF8, "application/json");
            using var response = await server.Client.SendAsync(request);
            Assert.Equal("from-the-client-42", response.Headers.GetValues("X-Request-Id").Single());
        }
        // The console logger writes from its own thread: wait for the line, with a deadline.
        var deadline = Stopwatch.StartNew();
        JsonElement? line = null;
        while (line is null && deadline.Elapsed < TimeSpan.FromSeconds(20))
        {
            line = server.Output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith('{') && l.Contains("from-the-client-42", StringComparison.Ordinal))
                .Select(l => (JsonElement?)JsonDocument.Parse(l).RootElement.Clone()).FirstOrDefault();
            if (line is null) await Task.Delay(50);
        }
        Assert.True(line is not null, "no JSON log line with the request id:\n" + server.Output);
        var entry = line.Value;
        Assert.Equal("AllReduceNet.Serving.Requests", entry.GetProperty("Category").GetString());
        Assert.Equal(2, entry.GetProperty("EventId").GetInt32()); // RequestAnsweredByModel
        Assert.Equal(200, entry.GetProperty("State").GetProperty("StatusCode").GetInt32());
        Assert.Equal("fashion", entry.GetProperty("State").GetProperty("Model").GetString());
        Assert.Contains(entry.GetProperty("Scopes").EnumerateArray(),
            scope => scope.TryGetProperty("RequestId", out var id) && id.GetString() == "from-the-client-42");
        // Every line the process wrote is one JSON object.
        foreach (string text in server.Output.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0))
            Assert.True(text.StartsWith('{') && JsonDocument.Parse(text) is not null, "a log line that is not JSON: " + text);
    }
}
