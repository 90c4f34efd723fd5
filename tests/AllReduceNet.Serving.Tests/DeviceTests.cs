using System.Net;
using System.Text;
using System.Text.Json;
using AllReduceNet.Kernels;

namespace AllReduceNet.Serving.Tests;

/// <summary>--device: the checkpoint models' forward pass on another kernel backend (ILGPU's CPU accelerator stands
/// in for CUDA here, running the same GPU kernels) gives the CPU path's answers; bad names are refused.</summary>
public sealed class DeviceTests
{
    [Fact]
    public async Task The_gpu_kernels_answer_as_the_cpu_path_and_metadata_names_the_device()
    {
        var server = new ServerFixture(["--device", "ilgpu-cpu"]);
        await server.InitializeAsync();
        try
        {
            using var metadata = JsonDocument.Parse(await server.Client.GetStringAsync("/v2/models/fashion/versions/1"));
            Assert.Equal("ilgpu-cpu", metadata.RootElement.GetProperty("parameters").GetProperty("device").GetString());
            var images = RequestBodies.Images(3, 21);
            using var response = await server.Client.PostAsync("/v2/models/fashion/versions/1/infer",
                new StringContent(RequestBodies.Infer(images, 3), Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var probabilities = answer.RootElement.GetProperty("outputs").EnumerateArray()
                .First(o => o.GetProperty("name").GetString() == "probabilities").GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            var expected = ServerFixture.DirectProbabilities(1, images, 3);
            Assert.Equal(expected.Length, probabilities.Length);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - probabilities[i]) <= 1e-5, $"element {i}: cpu {expected[i]} vs ilgpu-cpu {probabilities[i]}");
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public void An_unknown_device_is_refused_naming_the_choices()
    {
        var error = Assert.Throws<ServingConfigurationException>(() => ServingApp.Build(["--models", "/nonexistent", "--device", "tpu"]));
        Assert.Contains("--device is 'tpu'", error.Message, StringComparison.Ordinal);
        Assert.Contains("auto, cpu, ilgpu-cpu, cuda", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cuda_without_a_device_is_refused_at_start()
    {
        if (KernelBackends.IsCudaAvailable()) return; // with a GPU, "cuda" is a valid choice: nothing to refuse
        var error = Assert.Throws<ServingConfigurationException>(() => ServingApp.Build(["--models", "/nonexistent", "--device", "cuda"]));
        Assert.Contains("no CUDA device", error.Message, StringComparison.Ordinal);
    }
}
