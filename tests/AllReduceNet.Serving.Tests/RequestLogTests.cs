using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Logging;

namespace AllReduceNet.Serving.Tests;

/// <summary>Every request gets an id (the client's X-Request-Id when usable), sent back and logged as a structured
/// line, with the id as a scope on everything logged during the request.</summary>
public sealed class RequestLogTests : IAsyncLifetime
{
    private readonly ServerFixture _models = new();
    private readonly CapturedLogs _logs = new();
    private WebApplication? _app;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        await _models.InitializeAsync(); // writes the repository (and starts a server these tests do not use)
        _app = ServingApp.Build(["--models", _models.Directory, "--log-requests", "true"], builder =>
        {
            builder.WebHost.UseTestServer();
            builder.Logging.AddProvider(_logs);
        });
        await _app.StartAsync();
        _client = _app.GetTestClient();
    }

    public async Task DisposeAsync()
    {
        if (_app is not null) { await _app.StopAsync(); await _app.DisposeAsync(); }
        await _models.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, string? Id)> Post(string path, string body, string? clientId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (clientId is not null) request.Headers.TryAddWithoutValidation("X-Request-Id", clientId);
        using var response = await _client.SendAsync(request);
        return (response.StatusCode, response.Headers.TryGetValues("X-Request-Id", out var ids) ? ids.Single() : null);
    }

    private CapturedLogs.Entry AnsweredLine(string id, string eventName)
    {
        // The line is written as the middleware unwinds, just after the answer reached the client.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var line = _logs.Entries.FirstOrDefault(e => e.Event.Name == eventName && Equals(e.ScopeFields.GetValueOrDefault("RequestId"), id));
            if (line is not null) return line;
            Assert.True(DateTime.UtcNow < deadline, $"no {eventName} line for request {id}");
            Thread.Sleep(10);
        }
    }

    [Fact]
    public async Task An_answered_request_gets_a_fresh_id_and_one_structured_line()
    {
        var (status, id) = await Post("/v2/models/fashion/infer", RequestBodies.Infer(RequestBodies.Images(1, 5), 1));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Matches("^[0-9a-f]{32}$", id);
        var line = AnsweredLine(id!, "RequestAnsweredByModel");
        Assert.Equal(RequestLogging.Category, line.Category);
        Assert.Equal(LogLevel.Debug, line.Level);
        Assert.Equal("POST", line.Fields["Method"]);
        Assert.Equal("/v2/models/fashion/infer", line.Fields["Path"]);
        Assert.Equal(200, line.Fields["StatusCode"]);
        Assert.Equal("fashion", line.Fields["Model"]);
        Assert.Equal("2", line.Fields["Version"]); // the default policy, latest:1, serves the highest version
        Assert.IsType<double>(line.Fields["ElapsedMs"]);
    }

    [Fact]
    public async Task The_clients_id_is_kept_and_a_refusal_says_why()
    {
        var (status, id) = await Post("/v2/models/fashion/infer", "{\"inputs\": [", clientId: "trace-7f3a");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("trace-7f3a", id);
        var line = AnsweredLine("trace-7f3a", "RequestRefused");
        Assert.Equal(400, line.Fields["StatusCode"]);
        Assert.Contains("malformed JSON", (string)line.Fields["Refusal"]!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("has a space")]
    [InlineData("line\u00e9break")]
    public async Task An_unusable_client_id_is_replaced(string sent)
    {
        var (_, id) = await Post("/predict", RequestBodies.Predict(RequestBodies.Images(1, 6), 1), clientId: sent);
        Assert.Matches("^[0-9a-f]{32}$", id);
        AnsweredLine(id!, "RequestAnsweredByModel");
    }

    [Fact]
    public async Task A_request_no_model_answers_is_logged_without_one()
    {
        using var response = await _client.GetAsync("/v2/health/ready");
        string id = response.Headers.GetValues("X-Request-Id").Single();
        var line = AnsweredLine(id, "RequestAnswered");
        Assert.Equal("/v2/health/ready", line.Fields["Path"]);
        Assert.Equal(200, line.Fields["StatusCode"]);
    }

    [Fact]
    public void A_client_id_longer_than_the_limit_is_not_used()
    {
        Assert.Equal("abc", RequestLogging.ClientId("abc"));
        Assert.Null(RequestLogging.ClientId(new string('a', RequestLogging.MaxClientIdLength + 1)));
        Assert.Null(RequestLogging.ClientId("a\nb"));
    }

    [Fact]
    public async Task Without_log_requests_only_refusals_are_logged()
    {
        var logs = new CapturedLogs();
        await using var app = ServingApp.Build(["--models", _models.Directory], builder =>
        {
            builder.WebHost.UseTestServer();
            builder.Logging.AddProvider(logs);
        });
        await app.StartAsync();
        var client = app.GetTestClient();
        using var good = await client.PostAsync("/predict", new StringContent(RequestBodies.Predict(RequestBodies.Images(1, 7), 1), Encoding.UTF8, "application/json"));
        using var bad = await client.PostAsync("/predict", new StringContent("{", Encoding.UTF8, "application/json"));
        string badId = bad.Headers.GetValues("X-Request-Id").Single();
        await app.StopAsync();
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        Assert.Contains(logs.Entries, e => e.Event.Name == "RequestRefused" && Equals(e.ScopeFields.GetValueOrDefault("RequestId"), badId));
        Assert.DoesNotContain(logs.Entries, e => e.Event.Name is "RequestAnswered" or "RequestAnsweredByModel");
    }

    [Fact]
    public void An_unknown_log_format_is_refused_naming_the_option()
    {
        var error = Assert.Throws<ServingConfigurationException>(() => ServingApp.Build(["--models", _models.Directory, "--log-format", "xml"]));
        Assert.Contains("--log-format is 'xml'", error.Message, StringComparison.Ordinal);
        error = Assert.Throws<ServingConfigurationException>(() => ServingApp.Build(["--models", _models.Directory, "--log-requests", "yes"]));
        Assert.Contains("--log-requests is 'yes'", error.Message, StringComparison.Ordinal);
    }
}
