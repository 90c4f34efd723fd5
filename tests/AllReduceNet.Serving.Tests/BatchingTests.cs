using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

using static AllReduceNet.Serving.Tests.RequestBodies;

namespace AllReduceNet.Serving.Tests;

/// <summary>Dynamic batching, the bounded queue and /metrics, each on a server of its own settings.</summary>
public sealed class BatchingTests
{
    private static StringContent InferBody(float[] input, int rows) => new(Infer(input, rows), Encoding.UTF8, "application/json");

    private static async Task<ServerFixture> Start(params string[] args)
    {
        var server = new ServerFixture(args);
        await server.InitializeAsync();
        return server;
    }

    /// <summary>Sends <paramref name="count"/> concurrent requests of 1 to 3 rows to fashion v2 and checks that each
    /// answer is bitwise the forward pass of that request alone; returns the total rows sent.</summary>
    private static async Task<int> SendConcurrentAndCheck(HttpClient client, int count, Func<int, int> rowsOf)
    {
        var inputs = Enumerable.Range(0, count).Select(i => Images(rowsOf(i), 100 + i)).ToArray();
        var responses = await Task.WhenAll(inputs.Select((input, i) => client.PostAsync("/v2/models/fashion/infer", InferBody(input, rowsOf(i)))));
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(HttpStatusCode.OK, responses[i].StatusCode);
            using var body = JsonDocument.Parse(await responses[i].Content.ReadAsStringAsync());
            var actual = body.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            var expected = ServerFixture.DirectProbabilities(2, inputs[i], rowsOf(i));
            // Bitwise: batching must not change a single result.
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
        }
        return inputs.Sum(input => input.Length / 784);
    }

    private static async Task<string> Metrics(HttpClient client)
    {
        using var response = await client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The value of a sample of fashion v2, e.g. <c>allreducenet_serving_batch_size_count</c>; 0 when absent.</summary>
    private static double Sample(string metrics, string name, string extraLabels = "")
    {
        var match = Regex.Match(metrics, "^" + Regex.Escape(name + "{model=\"fashion\",version=\"2\"" + extraLabels + "}") + " (\\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    [Fact]
    public async Task Concurrent_requests_are_merged_and_answered_bitwise_as_alone()
    {
        var server = await Start("--max-batch", "64", "--max-queue-delay-us", "20000");
        try
        {
            int rows = await SendConcurrentAndCheck(server.Client, 32, i => 1 + i % 3);
            string metrics = await Metrics(server.Client);
            double batches = Sample(metrics, "allreducenet_serving_batch_size_count");
            Assert.Equal(rows, Sample(metrics, "allreducenet_serving_batch_size_sum"));
            Assert.True(batches >= 1 && batches < 32, $"{batches} batches for 32 requests: nothing was merged");
            Assert.Equal(32, Sample(metrics, "allreducenet_serving_requests_total", ",code=\"200\""));
            Assert.Equal(32, Sample(metrics, "allreducenet_serving_queue_duration_seconds_count"));
        }
        finally { await server.DisposeAsync(); }
    }

    [Fact]
    public async Task Max_batch_1_runs_every_request_alone()
    {
        var server = await Start("--max-batch", "1", "--max-queue-delay-us", "20000");
        try
        {
            await SendConcurrentAndCheck(server.Client, 16, _ => 1);
            string metrics = await Metrics(server.Client);
            Assert.Equal(16, Sample(metrics, "allreducenet_serving_batch_size_count"));
            Assert.Equal(16, Sample(metrics, "allreducenet_serving_batch_size_sum"));
            Assert.Equal(16, Sample(metrics, "allreducenet_serving_batch_size_bucket", ",le=\"1\""));
        }
        finally { await server.DisposeAsync(); }
    }

    [Fact]
    public async Task A_request_larger_than_max_batch_runs_alone()
    {
        var server = await Start("--max-batch", "4", "--max-queue-delay-us", "5000");
        try
        {
            int rows = await SendConcurrentAndCheck(server.Client, 6, i => i == 0 ? 20 : 1);
            string metrics = await Metrics(server.Client);
            Assert.Equal(rows, Sample(metrics, "allreducenet_serving_batch_size_sum"));
            Assert.Equal(1, Sample(metrics, "allreducenet_serving_batch_size_count") - Sample(metrics, "allreducenet_serving_batch_size_bucket", ",le=\"16\""));
        }
        finally { await server.DisposeAsync(); }
    }

    [Fact]
    public async Task A_full_queue_answers_503_with_Retry_After()
    {
        // A long delay holds the first requests in the queue while the next one arrives.
        var server = await Start("--max-queue", "2", "--max-queue-delay-us", "2000000");
        try
        {
            var client = server.Client;
            var waiting = new[] { client.PostAsync("/v2/models/fashion/infer", InferBody(Images(1, 1), 1)), client.PostAsync("/v2/models/fashion/infer", InferBody(Images(1, 2), 1)) };
            for (int i = 0; i < 200 && Sample(await Metrics(client), "allreducenet_serving_queue_depth") < 2; i++) await Task.Delay(5);
            Assert.Equal(2, Sample(await Metrics(client), "allreducenet_serving_queue_depth"));
            using var refused = await client.PostAsync("/v2/models/fashion/infer", InferBody(Images(1, 3), 1));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            using var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
            Assert.Contains("--max-queue", error.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
            foreach (var response in await Task.WhenAll(waiting)) Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            string metrics = await Metrics(client);
            Assert.Equal(1, Sample(metrics, "allreducenet_serving_requests_total", ",code=\"503\""));
            Assert.Equal(2, Sample(metrics, "allreducenet_serving_requests_total", ",code=\"200\""));
        }
        finally { await server.DisposeAsync(); }
    }

    [Fact]
    public async Task Stopping_drains_the_queue()
    {
        var server = await Start("--max-queue-delay-us", "10000000");
        var client = server.Client;
        var queued = client.PostAsync("/v2/models/fashion/infer", InferBody(Images(1, 1), 1));
        for (int i = 0; i < 200 && Sample(await Metrics(client), "allreducenet_serving_queue_depth") < 1; i++) await Task.Delay(5);
        try
        {
            var stopping = server.App.StopAsync();
            // Closing the queue runs what it holds at once, not after the 10 s delay.
            var answer = await queued.WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            await stopping;
        }
        finally { await server.DisposeAsync(); }
    }

    [Fact]
    public async Task Metrics_expose_every_series()
    {
        var server = await Start();
        try
        {
            await SendConcurrentAndCheck(server.Client, 1, _ => 1);
            using var bad = await server.Client.PostAsync("/v2/models/fashion/infer", new StringContent("{}", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            string metrics = await Metrics(server.Client);
            foreach (string name in new[] { "requests_total", "request_duration_seconds", "queue_duration_seconds", "batch_size", "requests_in_flight", "queue_depth" })
                Assert.Contains("# TYPE allreducenet_serving_" + name + " ", metrics, StringComparison.Ordinal);
            Assert.Equal(1, Sample(metrics, "allreducenet_serving_requests_total", ",code=\"200\""));
            Assert.Equal(1, Sample(metrics, "allreducenet_serving_requests_total", ",code=\"400\""));
            Assert.Equal(2, Sample(metrics, "allreducenet_serving_request_duration_seconds_count"));
            Assert.Equal(0, Sample(metrics, "allreducenet_serving_requests_in_flight"));
        }
        finally { await server.DisposeAsync(); }
    }
}
