using Herald.Tests.TestSupport;
using Herald.Xds.ControlPlane;
using Xunit;

namespace Herald.Tests.Xds.ControlPlane;

public sealed class MeshFileWatcherTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("herald-mesh-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Check_BadEditThenGoodEdit_KeepsOldThenApplies()
    {
        var path = Path.Combine(_dir, "mesh.yaml");
        File.WriteAllText(path, "services:\n  - name: a\n    ports: [{port: 80}]\n");
        var applied = new List<MeshConfig>();
        using var watcher = new MeshFileWatcher(path, applied.Add, new ManualTimeProvider(), useFileSystemEvents: false);
        Assert.Equal("a", watcher.Current.Services[0].Name);

        File.WriteAllText(path, "services:\n  - name: a\n    ports: [{port: 80}]\n    bogus: 1\n");
        Assert.False(watcher.Check());
        Assert.Contains("line 4", watcher.LastError, StringComparison.Ordinal);
        Assert.Equal("a", watcher.Current.Services[0].Name);

        File.WriteAllText(path, "services:\n  - name: b\n    ports: [{port: 80}]\n");
        Assert.True(watcher.Check());
        Assert.Null(watcher.LastError);
        Assert.Equal("b", watcher.Current.Services[0].Name);
        Assert.Equal("b", Assert.Single(applied).Services[0].Name);
    }

    [Fact]
    public void Timer_EditOnDisk_IsPickedUpByPoll()
    {
        var path = Path.Combine(_dir, "mesh.yaml");
        File.WriteAllText(path, "services:\n  - name: a\n    ports: [{port: 80}]\n");
        var time = new ManualTimeProvider();
        var applied = new List<MeshConfig>();
        using var watcher = new MeshFileWatcher(path, applied.Add, time, TimeSpan.FromSeconds(2), useFileSystemEvents: false);
        File.WriteAllText(path, "services:\n  - name: c\n    ports: [{port: 80}]\n");

        time.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal("c", Assert.Single(applied).Services[0].Name);
    }
}
