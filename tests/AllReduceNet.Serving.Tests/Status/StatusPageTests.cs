using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AllReduceNet.Serving.Drift;
using AllReduceNet.Serving.Status;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace AllReduceNet.Serving.Tests.Status;

/// <summary>GET /status and /status.json on a test server: the page with nothing to show ("none"), escaping of model
/// names, no external resource, the traffic shares and experiment evidence from the sampled history, the bounded
/// history, the --status-* and new --drift-* refusals, and the drift monitor's pause between window tests.</summary>
public sealed class StatusPageTests
{
    private const string Key = "status-key";

    private static async Task<(WebApplication App, HttpClient Client, string Directory)> Start(Action<string> write, params string[] args)
    {
        string directory = Path.Combine(Path.GetTempPath(), "arn-status-" + Guid.NewGuid().ToString("N"));
        write(directory);
        var app = ServingApp.Build(["--models", directory, "--version-policy", "all", "--api-key", Key, .. args], builder => builder.WebHost.UseTestServer());
        await app.StartAsync();
        return (app, app.GetTestClient(), directory);
    }

    private static async Task Stop(WebApplication app, string directory)
    {
        await app.StopAsync();
        await app.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    private static async Task<string> Infer(HttpClient client, string model, float[] image, string? user = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/models/{model}/infer") { Content = new StringContent(RequestBodies.Infer(image, 1), Encoding.UTF8, "application/json") };
        if (user is not null) request.Headers.Add("X-User-Id", user);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response.Headers.GetValues("X-Request-Id").Single();
    }

    /// <summary>Every src= and href= of the page: only the server's own paths and in-page anchors may appear.</summary>
    private static void AssertSelfContained(string html)
    {
        foreach (Match link in Regex.Matches(html, "(?:src|href)\\s*=\\s*\"([^\"]*)\"", RegexOptions.IgnoreCase))
            Assert.True(link.Groups[1].Value.StartsWith('/') && !link.Groups[1].Value.StartsWith("//"), $"the page links outside itself: {link.Value}");
        Assert.DoesNotContain("@import", html);
        Assert.DoesNotContain("url(", html);
    }

    [Fact]
    public async Task Page_says_none_without_reference_statistics_experiment_or_traffic_and_is_self_contained()
    {
        var (app, client, directory) = await Start(d => ServerFixture.WriteCheckpoint(d, "plain", 1, seed: 1));
        try
        {
            using var response = await client.GetAsync("/status");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
            string csp = response.Headers.GetValues("Content-Security-Policy").Single();
            Assert.Contains("default-src 'none'", csp);
            var nonce = Regex.Match(csp, "'nonce-([^']+)'").Groups[1].Value;
            Assert.NotEmpty(nonce);
            string html = await response.Content.ReadAsStringAsync();
            // The page's one script carries this answer's nonce.
            Assert.Single(Regex.Matches(html, "<script"));
            Assert.Contains($"<script nonce=\"{nonce}\">", html);
            AssertSelfContained(html);
            Assert.Contains("none: the model version has no reference statistics", html);
            Assert.Contains("none: no experiment has run on this model", html);
            Assert.Contains("none yet: no request in the history", html);
            Assert.Contains("none yet: no label has come back", html);
            Assert.Contains("<td>plain</td><td>1</td>", html);

            using var json = JsonDocument.Parse(await client.GetStringAsync("/status.json"));
            var model = json.RootElement.GetProperty("models").EnumerateArray().Single();
            Assert.Equal("plain", model.GetProperty("name").GetString());
            Assert.Equal(JsonValueKind.Null, model.GetProperty("experiment").ValueKind);
            Assert.False(model.GetProperty("drift")[0].GetProperty("available").GetBoolean());
        }
        finally { await Stop(app, directory); }
    }

    [Fact]
    public async Task Model_names_and_versions_are_escaped_everywhere()
    {
        // A directory name may hold anything but '/'.
        const string evil = "x<script>alert(1)<\\script>\"'&<img src=x onerror=alert(2)>";
        var (app, client, directory) = await Start(d => ServerFixture.WriteCheckpoint(d, evil, 7, seed: 1));
        try
        {
            var sampler = app.Services.GetRequiredService<StatusSampler>();
            await Infer(client, Uri.EscapeDataString(evil), RequestBodies.Images(1, seed: 3));
            sampler.Sample();
            string html = await client.GetStringAsync("/status");
            Assert.DoesNotContain("<script>alert", html);
            Assert.DoesNotContain("<img", html);
            Assert.Contains(WebUtility.HtmlEncode(evil), html);
            Assert.Single(Regex.Matches(html, "<script"));
            AssertSelfContained(html);
            // Ids made from the name keep only letters, digits and hex escapes.
            foreach (Match id in Regex.Matches(html, "id=\"([^\"]*)\""))
                Assert.Matches("^[A-Za-z0-9_-]+$", id.Groups[1].Value);
        }
        finally { await Stop(app, directory); }
    }

    [Fact]
    public async Task Traffic_share_per_interval_follows_the_requests_and_the_experiment_evidence_is_shown()
    {
        var (app, client, directory) = await Start(d =>
        {
            ServerFixture.WriteCheckpoint(d, "fashion", 1, seed: 1);
            ServerFixture.WriteCheckpoint(d, "fashion", 2, seed: 2);
        }, "--status-interval-ms", "3600000");   // samples taken by hand below
        try
        {
            var sampler = app.Services.GetRequiredService<StatusSampler>();
            var image = RequestBodies.Images(1, seed: 4);
            sampler.Sample();
            // Interval 1: 3 requests to v1, 1 to v2, by version.
            for (int i = 0; i < 3; i++) await Infer(client, "fashion/versions/1", image);
            await Infer(client, "fashion/versions/2", image);
            sampler.Sample();
            // Interval 2: an experiment, every answer labeled with its own class for the control's users, so the evidence moves.
            using (var start = new HttpRequestMessage(HttpMethod.Post, "/v2/repository/models/fashion/experiment")
            {
                Content = new StringContent("{\"control\":\"1\",\"candidate\":\"2\",\"weights\":{\"control\":50,\"candidate\":50},\"min_samples\":5,\"auto\":false}", Encoding.UTF8, "application/json"),
            })
            {
                start.Headers.Authorization = new("Bearer", Key);
                Assert.Equal(HttpStatusCode.Created, (await client.SendAsync(start)).StatusCode);
            }
            for (int u = 0; u < 40; u++)
            {
                string id = await Infer(client, "fashion", image, user: $"user-{u}");
                using var feedback = await client.PostAsync("/v2/models/fashion/experiment/feedback",
                    new StringContent($"{{\"request_id\":\"{id}\",\"label\":{u % 10}}}", Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.OK, feedback.StatusCode);
            }
            sampler.Sample();

            using var json = JsonDocument.Parse(await client.GetStringAsync("/status.json"));
            var model = json.RootElement.GetProperty("models").EnumerateArray().Single();
            var traffic = model.GetProperty("traffic");
            // The sampler took one sample at start, before the three above: the last two intervals are the test's.
            int intervals = traffic.GetProperty("times").GetArrayLength();
            Assert.True(intervals >= 2, $"{intervals} intervals");
            var shares = traffic.GetProperty("versions").EnumerateArray().ToDictionary(v => v.GetProperty("version").GetString()!, v => v.GetProperty("share"));
            Assert.Equal(0.75, shares["1"][intervals - 2].GetDouble(), 9);
            Assert.Equal(0.25, shares["2"][intervals - 2].GetDouble(), 9);
            // Interval 2: the sticky split over 40 users; the shares are the variants' request counts.
            var experiment = model.GetProperty("experiment");
            long control = experiment.GetProperty("control_variant").GetProperty("requests").GetInt64();
            long candidate = experiment.GetProperty("candidate_variant").GetProperty("requests").GetInt64();
            Assert.Equal(40, control + candidate);
            Assert.Equal((double)control / 40, shares["1"][intervals - 1].GetDouble(), 9);
            Assert.Equal((double)candidate / 40, shares["2"][intervals - 1].GetDouble(), 9);
            Assert.Equal("running", experiment.GetProperty("state").GetString());
            Assert.Equal(40, experiment.GetProperty("control_variant").GetProperty("labeled").GetInt64() + experiment.GetProperty("candidate_variant").GetProperty("labeled").GetInt64());
            Assert.Equal(1, experiment.GetProperty("p_values").GetArrayLength());   // sampled once since it started
            var row = model.GetProperty("versions").EnumerateArray().Single(v => v.GetProperty("version").GetString() == "1");
            Assert.Equal(3 + control, row.GetProperty("requests").GetInt64());
            Assert.StartsWith("control (50%)", row.GetProperty("role").GetString());
            Assert.True(row.GetProperty("latency_p99_ms").GetDouble() > 0);

            string html = await client.GetStringAsync("/status");
            Assert.Contains("id=\"traffic-fashion\"", html);
            Assert.Equal(2, Regex.Matches(html, "<polygon class=\"area\"").Count);   // one run of intervals per version
            Assert.Contains("id=\"evidence-fashion\"", html);
            Assert.Contains("id=\"accuracy-fashion\"", html);
            Assert.Contains("<td>control</td><td>1</td>", html);
        }
        finally { await Stop(app, directory); }
    }

    [Fact]
    public void History_keeps_the_latest_samples_in_order_within_its_capacity()
    {
        var history = new StatusHistory(3);
        Assert.Empty(history.Samples());
        var start = DateTimeOffset.UnixEpoch;
        for (int i = 0; i < 5; i++) history.Add(new StatusSample(start.AddSeconds(i), [], []));
        Assert.Equal([2.0, 3.0, 4.0], history.Samples().Select(s => (s.At - start).TotalSeconds));
    }

    [Theory]
    [InlineData("--status-interval-ms", "50", "--status-interval-ms is '50'")]
    [InlineData("--status-history", "1", "--status-history is '1'")]
    [InlineData("--drift-min-interval-ms", "-1", "--drift-min-interval-ms is '-1'")]
    [InlineData("--drift-cpu-share", "0", "--drift-cpu-share is '0'")]
    [InlineData("--drift-cpu-share", "1.5", "--drift-cpu-share is '1.5'")]
    public void Unusable_status_and_drift_pacing_options_are_refused_at_start(string option, string value, string says)
    {
        string directory = Path.Combine(Path.GetTempPath(), "arn-status-" + Guid.NewGuid().ToString("N"));
        ServerFixture.WriteCheckpoint(directory, "plain", 1, seed: 1);
        try
        {
            var error = Assert.Throws<ServingConfigurationException>(() => ServingApp.Build(["--models", directory, option, value]));
            Assert.Contains(says, error.Message);
        }
        finally { Directory.Delete(directory, recursive: true); }
    }

    [Theory]
    [InlineData("60000", 1)]   // one test, then a minute's pause: the four windows due after it wait
    [InlineData("0", 5)]       // no pause (and the whole core allowed): every window due is tested
    public async Task Drift_window_tests_wait_for_the_minimum_interval(string minIntervalMs, int expected)
    {
        var (app, client, directory) = await Start(d => StatusModels.WriteWithReference(d, "fashion", 1, seed: 1),
            "--drift-window", "40", "--drift-step", "20", "--drift-store-rows", "400", "--drift-min-interval-ms", minIntervalMs, "--drift-cpu-share", "1");
        try
        {
            var monitor = app.Services.GetRequiredService<DriftMonitors>().For(app.Services.GetRequiredService<ModelRepository>().Get("fashion", null));
            // Rows sent one window's step at a time, each step after the previous test ended: without a pause every step is tested.
            for (int step = 0; step < 6; step++)
            {
                for (int i = 0; i < 20; i++) await Infer(client, "fashion", StatusModels.Image(step * 20 + i));
                await monitor.Idle.WaitAsync(TimeSpan.FromSeconds(60));
            }
            Assert.Equal(expected, monitor.Windows().Length);
        }
        finally { await Stop(app, directory); }
    }
}
