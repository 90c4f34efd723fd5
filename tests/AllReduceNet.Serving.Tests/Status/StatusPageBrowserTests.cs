using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AllReduceNet.Serving.Drift;
using AllReduceNet.Serving.Status;
using AllReduceNet.Serving.DriftBenchmarks;
using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace AllReduceNet.Serving.Tests.Status;

/// <summary>
/// The status page in real headless Chromium (Debian's <c>chromium</c>): Serve's application on a loopback port
/// with two versions that have reference statistics, an A/B experiment between them, seeded Fashion-MNIST traffic
/// that shifts part-way (brightness and contrast), and feedback labels; then a screenshot (decoded and checked for
/// size and content) and the DOM after the page's script ran (checked for every plot). Skipped, with the reason,
/// where chromium is not installed (scripts/setup.sh installs it).
/// </summary>
public sealed class StatusPageBrowserTests(ITestOutputHelper output)
{
    private const string Key = "browser-key";
    private const int Width = 1400, Height = 2400;
    private static readonly TimeSpan BrowserTimeout = TimeSpan.FromSeconds(120);

    private static string? Chromium() =>
        new[] { "chromium", "chromium-browser", "google-chrome" }
            .SelectMany(name => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Select(d => Path.Combine(d, name)))
            .FirstOrDefault(File.Exists);

    [SkippableFact]
    public async Task Status_page_renders_every_plot_in_headless_chromium()
    {
        string? chromium = Chromium();
        Skip.If(chromium is null, "chromium is not installed (apt-get install chromium; scripts/setup.sh installs it).");
        string directory = Path.Combine(Path.GetTempPath(), "arn-status-browser-" + Guid.NewGuid().ToString("N"));
        StatusModels.WriteWithReference(directory, "fashion", 1, seed: 1);
        StatusModels.WriteWithReference(directory, "fashion", 2, seed: 2);
        WebApplication? app = null;
        try
        {
            int port = ServeProcess.FreePort();
            app = ServingApp.Build(["--models", directory, "--urls", $"http://127.0.0.1:{port}", "--version-policy", "all", "--api-key", Key,
                "--drift-window", "100", "--drift-step", "50", "--drift-store-rows", "2000", "--drift-min-interval-ms", "0", "--drift-cpu-share", "1",
                "--status-interval-ms", "250", "--log-format", "text"], builder => builder.Logging.ClearProviders());
            await app.StartAsync();
            string url = $"http://127.0.0.1:{port}";
            using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
            await DriveTraffic(app, client);

            string work = Path.Combine(Path.GetTempPath(), "arn-status-shots");
            Directory.CreateDirectory(work);
            string screenshot = Path.Combine(work, $"status-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{port}.png");
            var watch = Stopwatch.StartNew();
            var (code, text) = await RunChromium(chromium!, $"--screenshot={screenshot}", $"--window-size={Width},{Height}", $"{url}/status");
            output.WriteLine($"chromium --screenshot: exit {code} in {watch.Elapsed.TotalSeconds:F1} s");
            Assert.True(File.Exists(screenshot), $"chromium wrote no screenshot (exit {code}):\n{text}");
            output.WriteLine($"screenshot: {screenshot}");
            CheckScreenshot(File.ReadAllBytes(screenshot));

            watch.Restart();
            var (domCode, dom) = await RunChromium(chromium!, "--dump-dom", "--virtual-time-budget=3000", $"--window-size={Width},{Height}", $"{url}/status");
            output.WriteLine($"chromium --dump-dom: exit {domCode} in {watch.Elapsed.TotalSeconds:F1} s, {dom.Length} characters");
            CheckDom(dom);
        }
        finally
        {
            if (app is not null) { await app.StopAsync(); await app.DisposeAsync(); }
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>An experiment v1 against v2 (60/40, sticky by user), 200 clean images then 200 brightened ones, each
    /// labeled through the feedback endpoint (which feeds the drift monitor and the experiment), sent in bursts so that
    /// the sampler sees several intervals; then the drift tests are awaited and a last sample taken.</summary>
    private static async Task DriveTraffic(WebApplication app, HttpClient client)
    {
        using (var start = new HttpRequestMessage(HttpMethod.Post, "/v2/repository/models/fashion/experiment")
        {
            Content = new StringContent("{\"control\":\"1\",\"candidate\":\"2\",\"weights\":{\"control\":60,\"candidate\":40},\"min_samples\":30,\"auto\":false}", Encoding.UTF8, "application/json"),
        })
        {
            start.Headers.Authorization = new("Bearer", Key);
            using var started = await client.SendAsync(start);
            Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        }
        const int Rows = 400, Burst = 50;
        for (int i = 0; i < Rows; i++)
        {
            var image = StatusModels.Image(i);
            if (i >= Rows / 2) image = Shifts.BrightnessContrast(image, contrast: 0.7, brightness: 40);
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/fashion/infer") { Content = new StringContent(RequestBodies.Infer(image, 1), Encoding.UTF8, "application/json") };
            request.Headers.Add("X-User-Id", $"user-{i % 97}");
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            string id = response.Headers.GetValues("X-Request-Id").Single();
            using var feedback = await client.PostAsync("/v2/models/fashion/feedback",
                new StringContent($"{{\"id\":\"{id}\",\"label\":{StatusModels.Label(i)}}}", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, feedback.StatusCode);
            if (i % Burst == Burst - 1) await Task.Delay(300);   // more than a sample interval: the history gets a point per burst
        }
        var monitors = app.Services.GetRequiredService<DriftMonitors>();
        foreach (var model in app.Services.GetRequiredService<ModelRepository>().All)
            await monitors.For(model).Idle.WaitAsync(TimeSpan.FromSeconds(120));
        app.Services.GetRequiredService<StatusSampler>().Sample();
    }

    private async Task<(int Code, string Output)> RunChromium(string chromium, params string[] args)
    {
        string profile = Path.Combine(Path.GetTempPath(), "arn-chromium-" + Guid.NewGuid().ToString("N"));
        var start = new ProcessStartInfo(chromium) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // --no-sandbox: the tests run as root in CI, where Chromium's sandbox refuses to start.
        foreach (string arg in (string[])["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                     "--no-first-run", "--disable-extensions", $"--user-data-dir={profile}", .. args])
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(BrowserTimeout);
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"chromium {string.Join(' ', args)} did not finish within {BrowserTimeout.TotalSeconds} s:\n{await stderr}");
        }
        finally
        {
            try { Directory.Delete(profile, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        string errors = await stderr;
        if (errors.Length > 0) output.WriteLine($"chromium stderr (last 600 characters): {errors[^Math.Min(600, errors.Length)..]}");
        return (process.ExitCode, await stdout + errors);
    }

    private void CheckScreenshot(byte[] file)
    {
        Assert.True(file.Length > 20_000, $"the screenshot is only {file.Length} bytes");
        var png = PngImage.Read(file);
        Assert.Equal((Width, Height), (png.Width, png.Height));
        var colours = new Dictionary<int, int>();
        for (int y = 0; y < png.Height; y += 2)
            for (int x = 0; x < png.Width; x += 2)
            {
                int colour = png.Colour(x, y);
                colours[colour] = colours.GetValueOrDefault(colour) + 1;
            }
        int total = colours.Values.Sum();
        double background = (double)colours.Values.Max() / total;
        output.WriteLine($"screenshot: {png.Width}x{png.Height}, {file.Length} bytes, {colours.Count} distinct colours, {background:P1} background");
        // Not blank: many colours (plots, text), and a fair part of the page is not background.
        Assert.True(colours.Count > 50, $"only {colours.Count} colours: the page looks blank");
        Assert.True(background < 0.97, $"{background:P1} of the pixels are one colour: the page looks blank");
        // The palette's first colour (v1's traffic area, the drifted-share line) is drawn.
        Assert.True(colours.GetValueOrDefault(0x0072B2) + colours.GetValueOrDefault(0x2682BA) > 100, "v1's blue is missing from the screenshot");
    }

    private void CheckDom(string dom)
    {
        Assert.Contains("data-live=\"on\"", dom);   // the page's inline script ran (the CSP nonce let it)
        Assert.Contains("id=\"traffic-fashion\"", dom);
        Assert.Contains("id=\"accuracy-fashion\"", dom);
        Assert.Contains("id=\"evidence-fashion\"", dom);
        foreach (string version in new[] { "1", "2" })
        {
            Assert.Contains($"id=\"drift-share-fashion-v{version}\"", dom);
            Assert.Contains($"id=\"drift-mmd-fashion-v{version}\"", dom);
            Assert.Contains($"id=\"drift-prediction-fashion-v{version}\"", dom);
        }
        int areas = Regex.Matches(dom, "<polygon class=\"area\"").Count, lines = Regex.Matches(dom, "<path class=\"series\"").Count;
        int thresholds = Regex.Matches(dom, "<line class=\"threshold\"").Count, alarms = Regex.Matches(dom, "<circle class=\"alarm\"").Count;
        output.WriteLine($"DOM: {areas} traffic areas, {lines} lines, {thresholds} threshold lines, {alarms} alarm marks");
        Assert.True(areas >= 2, $"{areas} traffic areas");
        Assert.True(lines >= 2 * 3 + 1 + 2, $"{lines} lines: 3 drift plots per version, the p-value and the accuracy lines expected");
        Assert.True(thresholds >= 2 * 3 + 1, $"{thresholds} threshold lines");
        // The brightness shift of the stream's second half alarmed in some window.
        Assert.True(alarms >= 1, "no drift alarm is marked, though the stream's second half is shifted");
        Assert.Contains("<td>control</td><td>1</td>", dom);
    }
}
