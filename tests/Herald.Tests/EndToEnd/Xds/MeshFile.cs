namespace Herald.Tests.EndToEnd.Xds;

/// <summary>
/// A mesh.yaml in its own temp folder. Edits are written to a sibling file and renamed over
/// it, so the control plane's watcher never reads a half-written file. Deleted on dispose.
/// </summary>
internal sealed class MeshFile : IDisposable
{
    private readonly DirectoryInfo _dir;

    public MeshFile(string yaml)
    {
        _dir = Directory.CreateTempSubdirectory("herald-mesh-");
        Path = System.IO.Path.Combine(_dir.FullName, "mesh.yaml");
        File.WriteAllText(Path, yaml);
        Text = yaml;
    }

    public string Path { get; }

    /// <summary>Service web (port 8080) and gateway edge on <paramref name="gatewayPort"/> routing to it.</summary>
    public static string WebBehindEdge(int gatewayPort) => $$"""
        services:
          - name: web
            ports: [{port: 8080, protocol: http}]
        gateways:
          - name: edge
            port: {{gatewayPort}}
            routes:
              - service: web
        """;

    public string Text { get; private set; }

    public void Write(string yaml)
    {
        var next = System.IO.Path.Combine(_dir.FullName, "mesh.yaml.next");
        File.WriteAllText(next, yaml);
        File.Move(next, Path, overwrite: true);
        Text = yaml;
    }

    /// <summary>Replaces <paramref name="oldText"/> (which must occur) with <paramref name="newText"/>.</summary>
    public void Replace(string oldText, string newText)
    {
        if (!Text.Contains(oldText, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"the mesh file does not contain '{oldText}':\n{Text}");
        }

        Write(Text.Replace(oldText, newText, StringComparison.Ordinal));
    }

    public void Dispose()
    {
        try
        {
            _dir.Delete(recursive: true);
        }
        catch (IOException)
        {
            // Left behind: harmless.
        }
    }
}
