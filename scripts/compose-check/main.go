// compose-check loads a Compose file with Compose's own Go loader (compose-spec/compose-go, the
// library `docker compose` itself is built on) and exits non-zero with the loader's error when the
// file would not load: YAML, interpolation (a `${VAR:?message}` whose variable is unset fails with
// that message), the Compose JSON schema, normalization, and the model's consistency (depends_on,
// networks, volumes and secrets that are referenced but not declared), then dependency cycles.
//
// On top of the loader it checks what `docker compose up` would only find out on a Docker host:
// every bind-mounted file or folder and every build context (with its Dockerfile) exists, and every
// image is pinned to a tag other than `latest` or to a digest.
//
// The variables come from the process environment and from -e NAME=VALUE flags, never from a
// .env file next to the Compose file (it holds a deployment's secrets and differs per machine;
// CI checks the committed file with placeholder values).
//
//	compose-check [-e NAME=VALUE]... docker-compose.yml
//
// Built by scripts/install-deploy-tools.mjs (`npm run deploy:install`) into .tools/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/graph"
	"github.com/compose-spec/compose-go/v2/types"
)

const loaderModule = "github.com/compose-spec/compose-go/v2"

type envFlags []string

func (e *envFlags) String() string { return strings.Join(*e, ",") }

func (e *envFlags) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("%q is not NAME=VALUE", v)
	}
	*e = append(*e, v)
	return nil
}

func main() {
	var env envFlags
	flag.Var(&env, "e", "a variable for interpolation, NAME=VALUE (repeatable; overrides the environment)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: compose-check [-e NAME=VALUE]... COMPOSE_FILE\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	file := flag.Arg(0)
	project, err := load(file, env)
	if err != nil {
		fmt.Fprintf(os.Stderr, "compose-check: %s: %v\n", file, err)
		os.Exit(1)
	}
	if problems := extraChecks(project); len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(os.Stderr, "compose-check: %s: %s\n", file, p)
		}
		os.Exit(1)
	}
	names := project.ServiceNames()
	sort.Strings(names)
	fmt.Printf("compose-check: %s loads with %s %s: project %q, services %s\n",
		file, loaderModule, loaderVersion(), project.Name, strings.Join(names, ", "))
}

// load runs Compose's loader with interpolation, normalization, path resolution and the
// consistency checks on, as `docker compose config` does, then looks for dependency cycles.
func load(file string, env []string) (*types.Project, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	// Later entries win: the flags override the environment.
	environment := append(os.Environ(), env...)
	opts, err := cli.NewProjectOptions([]string{abs},
		cli.WithWorkingDirectory(filepath.Dir(abs)),
		cli.WithEnv(environment),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithResolvedPaths(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		return nil, err
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		return nil, err
	}
	if err := graph.CheckCycle(project); err != nil {
		return nil, err
	}
	return project, nil
}

// extraChecks reports what the loader accepts but a host would refuse or a deploy should not do.
func extraChecks(p *types.Project) []string {
	var problems []string
	names := p.ServiceNames()
	sort.Strings(names)
	for _, name := range names {
		s := p.Services[name]
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				problems = append(problems, fmt.Sprintf("service %q bind-mounts %s, which does not exist", name, v.Source))
			}
		}
		if s.Build != nil {
			if st, err := os.Stat(s.Build.Context); err != nil || !st.IsDir() {
				problems = append(problems, fmt.Sprintf("service %q builds from %s, which is not a folder", name, s.Build.Context))
			} else if s.Build.DockerfileInline == "" {
				dockerfile := s.Build.Dockerfile
				if dockerfile == "" {
					dockerfile = "Dockerfile"
				}
				if !filepath.IsAbs(dockerfile) {
					dockerfile = filepath.Join(s.Build.Context, dockerfile)
				}
				if _, err := os.Stat(dockerfile); err != nil {
					problems = append(problems, fmt.Sprintf("service %q builds with %s, which does not exist", name, dockerfile))
				}
			}
		}
		if s.Image != "" && s.Build == nil {
			if err := pinned(s.Image); err != nil {
				problems = append(problems, fmt.Sprintf("service %q: image %s %v", name, s.Image, err))
			}
		}
	}
	return problems
}

// pinned accepts repo:tag (not latest) and repo@sha256:….
func pinned(image string) error {
	if strings.Contains(image, "@") {
		return nil
	}
	slash := strings.LastIndex(image, "/")
	colon := strings.LastIndex(image, ":")
	if colon <= slash {
		return errors.New("has no tag (it would float to latest)")
	}
	if image[colon+1:] == "latest" {
		return errors.New("is tagged latest, which floats")
	}
	return nil
}

func loaderVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown version)"
	}
	for _, dep := range info.Deps {
		if dep.Path == loaderModule {
			return dep.Version
		}
	}
	return "(unknown version)"
}
