using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace AllReduceNet.Serving.Tests;

/// <summary>
/// Serve.dll as a real child process on 127.0.0.1: the whole stack (Kestrel, sockets, the host's SIGTERM handling)
/// that a test server skips. Started on a free port and awaited until /v2/health/ready answers; disposing kills it
/// if it is still running, so a failed test leaves no server behind.
/// </summary>
internal sealed class ServeProcess : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServeProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>The port the server listens on.</summary>
    public int Port { get; }

    /// <summary>A client of the server (one connection pool; requests run concurrently).</summary>
    public HttpClient Client { get; }

    /// <summary>Everything the server wrote to stdout and stderr so far, for failure messages.</summary>
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>Serve.dll beside the test assembly: the project reference copies it with its runtimeconfig.</summary>
    private static string ServeDll => Path.Combine(AppContext.BaseDirectory, "Serve.dll");

    /// <summary>Starts <c>dotnet Serve.dll --models DIR --urls http://127.0.0.1:PORT ARGS</c> and waits until it is ready.</summary>
    /// <exception cref="InvalidOperationException">The server exited or did not get ready within the timeout; the message holds its output.</exception>
    public static async Task<ServeProcess> StartAsync(string modelsDirectory, params string[] args)
    {
        // The free port is found by binding port 0 and releasing it; another process may take it in between, so a
        // server that could not bind is started again on another port.
        for (int attempt = 1; ; attempt++)
        {
            var server = Launch(modelsDirectory, FreePort(), args);
            try
            {
                await server.WaitReadyAsync();
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3 && server.Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    private static ServeProcess Launch(string modelsDirectory, int port, string[] args)
    {
        if (!File.Exists(ServeDll)) throw new InvalidOperationException($"{ServeDll} is missing; build the Serving project.");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])[ServeDll, "--models", modelsDirectory, "--urls", $"http://127.0.0.1:{port}", .. args])
            start.ArgumentList.Add(arg);
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        var process = new Process { StartInfo = start };
        var server = new ServeProcess(process, port);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    /// <summary>A loopback port that was free a moment ago: bound, noted, released.</summary>
    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task WaitReadyAsync()
    {
        var deadline = Stopwatch.StartNew();
        using var probe = new HttpClient { BaseAddress = Client.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"Serve.dll exited with code {_process.ExitCode} before it was ready:\n{Output}");
            try
            {
                using var response = await probe.GetAsync("/v2/health/ready");
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }   // not listening yet
            catch (TaskCanceledException) { }   // a probe timed out: the machine is busy; the deadline decides
            if (deadline.Elapsed > ReadyTimeout)
                throw new InvalidOperationException($"Serve.dll was not ready on port {Port} within {ReadyTimeout.TotalSeconds} s:\n{Output}");
            await Task.Delay(50);
        }
    }

    /// <summary>Sends SIGTERM, as a container runtime or systemd does to stop a service.</summary>
    public void Terminate()
    {
        if (Kill(_process.Id, SigTerm) != 0)
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}.");
    }

    /// <summary>Waits for the process to exit.</summary>
    /// <returns>Its exit code.</returns>
    /// <exception cref="TimeoutException">It was still running after <paramref name="timeout"/>.</exception>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try { await _process.WaitForExitAsync(cancellation.Token); }
        catch (OperationCanceledException) { throw new TimeoutException($"Serve.dll did not exit within {timeout.TotalSeconds} s:\n{Output}"); }
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(cancellation.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        _process.Dispose();
    }

    private const int SigTerm = 15;   // the same number on every Linux architecture and on macOS

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
