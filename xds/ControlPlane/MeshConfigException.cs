namespace Herald.Xds.ControlPlane;

/// <summary>A mesh file that cannot be used; the message names the line, column and field.</summary>
public sealed class MeshConfigException : Exception
{
    public MeshConfigException()
    {
    }

    public MeshConfigException(string message)
        : base(message)
    {
    }

    public MeshConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public MeshConfigException(string field, long line, long column, string problem)
        : base($"mesh.yaml line {line}, column {column}: {field}: {problem}")
    {
        Field = field;
        Line = line;
        Column = column;
    }

    public string? Field { get; }

    public long Line { get; }

    public long Column { get; }
}
