import { fixtureTests } from "./fixture_harness.ts";

fixtureTests("binary");
