using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace AllReduceNet.Lifecycle.Tests;

/// <summary>A web application started on 127.0.0.1 with a port the system chose: real HTTP on loopback, in this process.</summary>
internal sealed class LoopbackHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackHost(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
        Client = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(60) };
    }

    public Uri Url { get; }
    public HttpClient Client { get; }
    public IServiceProvider Services => _app.Services;

    public static string[] Loopback => ["--urls", "http://127.0.0.1:0"];

    public static async Task<LoopbackHost> StartAsync(WebApplication app)
    {
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LoopbackHost(app, new Uri(address.EndsWith('/') ? address : address + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(60));
        await _app.DisposeAsync();
    }
}
