using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Switchboard.SourceGenerator;

namespace Switchboard.SourceGenerator.Tests;

/// <summary>Runs the generator on source text, the way the compiler does, against the real Switchboard assembly.</summary>
internal static class GeneratorHarness
{
    private static readonly Lazy<MetadataReference[]> References = new(() =>
    {
        string[] platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        List<MetadataReference> references = [.. platform.Select(p => MetadataReference.CreateFromFile(p))];
        references.Add(MetadataReference.CreateFromFile(typeof(BusBuilder).Assembly.Location));
        references.Add(MetadataReference.CreateFromFile(typeof(Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions).Assembly.Location));
        return [.. references.DistinctBy(r => Path.GetFileName(r.Display))];
    });

    public sealed record Run(string Generated, ImmutableArray<Diagnostic> GeneratorDiagnostics, ImmutableArray<Diagnostic> CompilationErrors);

    public static Run Generate(string source)
    {
        CSharpParseOptions parse = new(LanguageVersion.Preview);
        CSharpCompilation compilation = CSharpCompilation.Create(
            "GeneratorInput",
            [CSharpSyntaxTree.ParseText(source, parse, path: "Input.cs"), CSharpSyntaxTree.ParseText("global using System; global using System.Threading; global using System.Threading.Tasks;", parse, path: "Usings.cs")],
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

        GeneratorDriver driver = CSharpGeneratorDriver.Create([new HandlerRegistrationGenerator().AsSourceGenerator()], parseOptions: parse);
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out ImmutableArray<Diagnostic> diagnostics);
        GeneratorDriverRunResult result = driver.GetRunResult();
        string generated = string.Concat(result.Results.SelectMany(r => r.GeneratedSources).Select(s => s.SourceText.ToString()));
        ImmutableArray<Diagnostic> errors = [.. output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error)];
        return new Run(generated, [.. diagnostics, .. result.Diagnostics.Except(diagnostics)], errors);
    }

    /// <summary>
    /// Compares generated text with <c>Snapshots/{name}.g.cs</c>. With SWITCHBOARD_UPDATE_SNAPSHOTS=1 the snapshot is
    /// rewritten instead (review the diff before committing it).
    /// </summary>
    public static void MatchSnapshot(string name, string actual, [CallerFilePath] string callerPath = "")
    {
        string fileName = name + ".g.cs";
        if (Environment.GetEnvironmentVariable("SWITCHBOARD_UPDATE_SNAPSHOTS") == "1")
        {
            File.WriteAllText(Path.Combine(Path.GetDirectoryName(callerPath)!, "Snapshots", fileName), actual);
            return;
        }

        string path = Path.Combine(AppContext.BaseDirectory, "Snapshots", fileName);
        Assert.True(File.Exists(path), $"No snapshot {fileName}; run the tests once with SWITCHBOARD_UPDATE_SNAPSHOTS=1 and review it.");
        string expected = File.ReadAllText(path).Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.Equal(expected, actual);
    }
}
