using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace Switchboard.SourceGenerator;

/// <summary>
/// Finds the application's handler classes (<c>IHandler&lt;TMessage&gt;</c>, <c>IHandler&lt;TMessage, TResult&gt;</c>) and writes
/// <c>BusBuilder.AddGeneratedHandlers()</c>: each handler registered with a constructor call written here (no assembly scan,
/// no reflection, so it survives trimming and Native AOT), the message and result types added to the allow-list, and the
/// application's <c>JsonSerializerContext</c> handed to the serializer. What would make the bus refuse to start, or a
/// transport fail, is reported as a compiler diagnostic (SWB001–SWB006).
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class HandlerRegistrationGenerator : IIncrementalGenerator
{
    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        IncrementalValueProvider<ImmutableArray<TypeModel>> types = context.SyntaxProvider
            .CreateSyntaxProvider(
                static (node, _) => node is ClassDeclarationSyntax { BaseList: not null } or RecordDeclarationSyntax { BaseList: not null },
                static (syntax, cancellationToken) => TypeAnalysis.Analyze(syntax, cancellationToken))
            .Where(static model => model is not null)
            .Select(static (model, _) => model!)
            .Collect();

        IncrementalValueProvider<bool> referencesSwitchboard = context.CompilationProvider
            .Select(static (compilation, _) => compilation.GetTypeByMetadataName("Switchboard.BusBuilder") is not null);

        context.RegisterSourceOutput(types.Combine(referencesSwitchboard), static (output, input) =>
        {
            if (!input.Right)
            {
                return;
            }

            GenerationResult result = Plan.Build(input.Left);
            foreach (Diagnostic diagnostic in result.Diagnostics)
            {
                output.ReportDiagnostic(diagnostic);
            }

            output.AddSource("Switchboard.GeneratedHandlers.g.cs", SourceText.From(result.Source, System.Text.Encoding.UTF8));
        });
    }
}
