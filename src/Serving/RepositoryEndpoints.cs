namespace AllReduceNet.Serving;

/// <summary>
/// The model repository extension (KServe v2 / Triton): the index of models on disk, and loading and unloading a
/// model while serving. Every endpoint needs the API key (<see cref="ManagementAuthorization"/>).
/// </summary>
internal static class RepositoryEndpoints
{
    public static void Map(WebApplication app)
    {
        var group = app.MapGroup("/v2/repository").AddEndpointFilter(ManagementAuthorization.Require);
        // Triton's index is a POST; GET is accepted too, as it changes nothing.
        group.MapMethods("/index", ["GET", "POST"], (ModelRepository models) => ServingApp.Json(
            models.Index().Select(e => new { name = e.Name, version = e.Version, state = e.State, reason = e.Reason }).ToArray()));
        group.MapPost("/models/{name}/load", (string name, ModelRepository models) =>
            ServingApp.Json(new { name, versions = models.LoadModel(name), state = "READY" }));
        group.MapPost("/models/{name}/unload", (string name, ModelRepository models) =>
        {
            models.UnloadModel(name);
            return ServingApp.Json(new { name, state = "UNAVAILABLE" });
        });
    }
}
