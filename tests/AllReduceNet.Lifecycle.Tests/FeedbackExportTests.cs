using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Json;
using AllReduceNet.Serving;

namespace AllReduceNet.Lifecycle.Tests;

/// <summary>Serve.dll's GET /v2/models/{name}/feedback/export: the labeled rows as a data file, behind the API key, bounded.</summary>
public sealed class FeedbackExportTests : IDisposable
{
    private const string Key = "export-test-key";
    private readonly string _work = Directory.CreateTempSubdirectory("lifecycle-export-").FullName;

    [Fact]
    public async Task Export_holds_the_labeled_rows_only_needs_the_key_and_refuses_a_bad_bound()
    {
        string models = Path.Combine(_work, "models");
        await TrainProcess.RunAsync(["--synthetic", "400", "--layers", "12,8,3", "--ranks", "1", "--epochs", "1", "--batch-size", "40", "--device", "cpu",
            "--no-checkpoint", "--quiet", "--export-model", Path.Combine(models, "syn", "1")], TimeSpan.FromMinutes(2));
        await using var serve = await LoopbackHost.StartAsync(ServingApp.Build([.. LoopbackHost.Loopback, "--models", models, "--api-key", Key, "--device", "cpu"]));
        // Three requests of 1, 2 and 3 rows; the first and the third get labels.
        for (int r = 1; r <= 3; r++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v2/models/syn/infer")
            {
                Content = JsonContent.Create(new { inputs = new[] { new { name = "input", shape = new[] { r, 12 }, datatype = "FP32", data = Enumerable.Range(0, r * 12).Select(i => (float)(r * 100 + i)).ToArray() } } }),
            };
            request.Headers.Add("X-Request-Id", $"req-{r}");
            using var answer = await serve.Client.SendAsync(request);
            Assert.True(answer.IsSuccessStatusCode, await answer.Content.ReadAsStringAsync());
        }
        foreach (var (id, labels) in new[] { ("req-1", new[] { 2 }), ("req-3", new[] { 0, 1, 2 }) })
            using (var labeled = await serve.Client.PostAsJsonAsync("v2/models/syn/feedback", new { id, labels }))
                Assert.True(labeled.IsSuccessStatusCode, await labeled.Content.ReadAsStringAsync());

        using (var anonymous = await serve.Client.GetAsync("v2/models/syn/feedback/export"))
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        byte[] file = await Export("");
        Assert.Equal("ARNLBL01"u8.ToArray(), file[..8]);
        Assert.Equal(4, BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(8)));
        Assert.Equal(12, BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(12)));
        Assert.Equal(3, BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(16)));
        Assert.Equal(20 + 4 * 12 * 4 + 4 * 4, file.Length);
        Assert.Equal(100f, BinaryPrimitives.ReadSingleLittleEndian(file.AsSpan(20)));          // req-1's row as sent
        Assert.Equal(300f, BinaryPrimitives.ReadSingleLittleEndian(file.AsSpan(20 + 12 * 4)));   // then req-3's first row
        int[] labelsOut = Enumerable.Range(0, 4).Select(i => BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(20 + 4 * 12 * 4 + i * 4))).ToArray();
        Assert.Equal([2, 0, 1, 2], labelsOut);

        // Bounded: the latest rows first.
        byte[] two = await Export("?max_rows=2");
        Assert.Equal(2, BinaryPrimitives.ReadInt32LittleEndian(two.AsSpan(8)));
        Assert.Equal(300f + 12, BinaryPrimitives.ReadSingleLittleEndian(two.AsSpan(20)));
        using var request2 = new HttpRequestMessage(HttpMethod.Get, "v2/models/syn/feedback/export?max_rows=-3");
        request2.Headers.Add("X-Api-Key", Key);
        using var bad = await serve.Client.SendAsync(request2);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("max_rows", await bad.Content.ReadAsStringAsync());

        async Task<byte[]> Export(string query)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "v2/models/syn/feedback/export" + query);
            request.Headers.Add("X-Api-Key", Key);
            using var response = await serve.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return await response.Content.ReadAsByteArrayAsync();
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_work, recursive: true); }
        catch (IOException) { }
    }
}
